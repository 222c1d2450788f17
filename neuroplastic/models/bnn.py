"""Binarized neural network (Hubara et al. 2016; the BNN of Laborieux et al. 2021, "Synaptic
metaplasticity in binarized neural networks", Laborieux-Axel/SynapticMetaplasticityBNN
models_utils.py ``BNN``): an MLP whose weights are the signs of real "hidden" weights h, each
layer followed by BatchNorm1d (affine, batch statistics at test time too, as the official
``track_running_stats=False``), hidden activations sign(x).

Gradients are straight-through: the gradient with respect to a binary weight sign(h) is applied
to h, and the sign activation passes the gradient where |x| <= 1 (zero elsewhere). The input is
not binarized. The hidden weights start uniform in [-width/2, width/2] (official default width 0.1)
and the BatchNorm scales uniform in [0, 1] (as the official code).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._heads import Head


class SignSTE(torch.autograd.Function):
    """sign(x) forward; backward passes the gradient where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sign()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


class Sign(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return SignSTE.apply(x)


class BinaryLinear(nn.Linear):
    """``weight`` holds the hidden weights h; the layer computes x @ sign(h).T, and the gradient
    with respect to sign(h) lands on h (straight-through)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h = self.weight
        return nn.functional.linear(x, h + (h.sign() - h).detach())


def _norm(n: int) -> nn.BatchNorm1d:
    bn = nn.BatchNorm1d(n, affine=True, track_running_stats=False)
    nn.init.uniform_(bn.weight)
    return bn


class BNN(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (1024, 1024),
                 task_classes: list[tuple[int, ...]] | None = None, init_width: float = 0.1):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be positive integers, got {widths!r} (e.g. [1024, 1024]).")
        if not (isinstance(init_width, (int, float)) and init_width > 0):
            raise ValueError(f"init_width={init_width!r} is invalid: expected a number > 0 (official: 0.1).")
        n_in, layers = math.prod(in_shape), [nn.Flatten()]
        for w in widths:
            layers += [BinaryLinear(n_in, int(w)), _norm(int(w)), Sign()]
            n_in = int(w)
        self.body = nn.Sequential(*layers)
        self.head = Head(n_in, n_classes, task_classes)
        self.head.fc = nn.Sequential(BinaryLinear(n_in, n_classes), _norm(n_classes))
        for m in self.modules():
            if isinstance(m, BinaryLinear):
                nn.init.uniform_(m.weight, -init_width / 2, init_width / 2)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.body(x), task)
