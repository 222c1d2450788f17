"""Multilayer SoftHebb's conv net (Journe et al. 2023): the official blocks and a linear head.

From "Hebbian deep learning without feedback" (ICLR 2023), in the form of the official
NeuromorphicComputing/SoftHebb demo.py and presets.json [V]. Each block is

    BatchNorm2d (no affine parameters) -> Conv2d (reflect padding, no bias)
    -> triangle activation -> pooling (kernel 4, stride 2, padding 1)

and the head is a linear read-out on the flattened last block, after dropout. The convolutions are
meant to learn by the ``soft_wta`` rule (method ``softhebb``); the head by cross-entropy. Defaults
are one block of the official first layer (96 channels, 5 x 5, triangle power 0.7), as in the
"2SoftHebbCnnCIFAR" preset; ``channels=(96, 384), kernels=(5, 3), powers=(0.7, 1.4)`` gives the
first two blocks of the deeper presets. The official pooling is average in some presets and max
in others (``pool``).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._heads import Head


def triangle(u: Tensor, power: float = 1.0) -> Tensor:
    """SoftHebb's activation: relu(u - mean over channels) ** power. The gradient is 0 where the
    deviation is <= 0 (a plain relu(d) ** power would give 0 * inf = NaN there for power < 1)."""
    d = u - u.mean(dim=1, keepdim=True)
    if power == 1:
        return d.clamp_min(0)
    return torch.where(d > 0, d.clamp_min(torch.finfo(d.dtype).tiny).pow(power), 0.0)


class Triangle(nn.Module):
    def __init__(self, power: float = 1.0):
        super().__init__()
        self.power = power

    def forward(self, u: Tensor) -> Tensor:
        return triangle(u, self.power)

    def extra_repr(self) -> str:
        return f"power={self.power}"


class SoftHebbCNN(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, channels: Sequence[int] = (96,),
                 kernels: Sequence[int] = (5,), powers: Sequence[float] = (0.7,), pool: str = "avg",
                 dropout: float = 0.5, task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(f"softhebb_cnn needs images (C, H, W), got input shape {in_shape}; use the mlp model.")
        if not (len(channels) == len(kernels) == len(powers) >= 1):
            raise ValueError(f"channels, kernels and powers need one entry per block, got {len(channels)}, "
                             f"{len(kernels)} and {len(powers)}.")
        if any(int(k) % 2 == 0 for k in kernels):
            raise ValueError(f"kernels={list(kernels)}: give odd kernel sizes (the padding keeps the image size).")
        if pool not in ("avg", "max"):
            raise ValueError(f"pool={pool!r} is invalid: expected 'avg' or 'max'.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout={dropout!r} is invalid: expected a number in [0, 1).")
        blocks, c_in = [], in_shape[0]
        for c, k, p in zip(channels, kernels, powers):
            pooling = nn.AvgPool2d(4, 2, 1) if pool == "avg" else nn.MaxPool2d(4, 2, 1)
            blocks += [nn.BatchNorm2d(c_in, affine=False),
                       nn.Conv2d(c_in, int(c), int(k), padding=int(k) // 2, padding_mode="reflect", bias=False),
                       Triangle(float(p)), pooling]
            c_in = int(c)
        self.body = nn.Sequential(*blocks, nn.Flatten(), nn.Dropout(dropout))
        with torch.no_grad():
            self.body.eval()
            n_flat = self.body(torch.zeros(2, *in_shape)).shape[1]
            self.body.train()
        self.head = Head(n_flat, n_classes, task_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.body(x), task)
