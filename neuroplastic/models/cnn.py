"""A small CNN for 28 x 28 (or 8 x 8) images: two conv blocks, one hidden dense layer, a head.

``norm="bn"`` puts a BatchNorm2d after each convolution (before the ReLU): the normalisation
layers that test-time adaptation (BN-adapt, TENT, EATA) works on."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ._heads import Head


class CNN(nn.Module):
    """conv(c1, 3x3) [-> BN] -> ReLU -> maxpool 2 -> conv(c2, 3x3) [-> BN] -> ReLU -> maxpool 2 ->
    dense(hidden) -> head."""

    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, channels: tuple[int, int] = (32, 64),
                 hidden: int = 128, norm: str = "none", task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if len(in_shape) != 3:
            raise ValueError(f"CNN needs images (C, H, W), got input shape {in_shape}; use the mlp model.")
        if norm not in ("none", "bn"):
            raise ValueError(f"norm={norm!r} is invalid: expected 'none' or 'bn' (BatchNorm2d after each convolution).")
        c1, c2 = (int(c) for c in channels)

        def block(c_in, c_out):
            layers = [nn.Conv2d(c_in, c_out, 3, padding=1)]
            layers += [nn.BatchNorm2d(c_out)] if norm == "bn" else []
            return layers + [nn.ReLU(), nn.MaxPool2d(2)]
        self.conv = nn.Sequential(*block(in_shape[0], c1), *block(c1, c2), nn.Flatten())
        with torch.no_grad():
            self.conv.eval()
            n_flat = self.conv(torch.zeros(1, *in_shape)).shape[1]
            self.conv.train()
        self.body = nn.Sequential(self.conv, nn.Linear(n_flat, hidden), nn.ReLU())
        self.head = Head(hidden, n_classes, task_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.body(x), task)
