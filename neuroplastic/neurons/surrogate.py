"""Surrogate gradients for the spike non-linearity: forward Heaviside(v - threshold), backward a
smooth pseudo-derivative (Neftci, Mostafa & Zenke 2019).

* ``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018): d/dv = 1 / (slope * |v| + 1)^2
* ``arctan`` (Fang et al. 2021): d/dv = width / (2 (1 + (pi/2 * width * v)^2))... written as
  alpha / 2 / (1 + (pi / 2 * alpha * v)^2) with alpha = ``slope``
* ``triangle`` (Esser et al. 2016; Bellec et al. 2018): d/dv = slope * max(0, 1 - |v| / width) / width

``v`` is the membrane potential minus the threshold. Each surrogate is a pure function of (v,
slope, width) returning the pseudo-derivative, plus ``spike(v, kind, slope, width)`` that applies
Heaviside forward and the chosen pseudo-derivative backward.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def fast_sigmoid(v: Tensor, slope: float = 10.0, width: float = 1.0) -> Tensor:
    return 1.0 / (slope * v.abs() + 1.0) ** 2


def arctan(v: Tensor, slope: float = 2.0, width: float = 1.0) -> Tensor:
    return slope / 2.0 / (1.0 + (math.pi / 2.0 * slope * v) ** 2)


def triangle(v: Tensor, slope: float = 1.0, width: float = 1.0) -> Tensor:
    return slope * (1.0 - v.abs() / width).clamp_min(0.0) / width


SURROGATES = {"fast_sigmoid": fast_sigmoid, "arctan": arctan, "triangle": triangle}


def surrogate_(v: Tensor, kind: str, slope: float, width: float = 1.0) -> Tensor:
    """``SURROGATES[kind](v, slope, width)`` computed in place in ``v`` (no temporaries: on large
    (T, B, N) tensors a fresh buffer per elementwise op costs as much as the op)."""
    if kind == "fast_sigmoid":
        return v.abs_().mul_(slope).add_(1.0).square_().reciprocal_()
    if kind == "arctan":
        return v.mul_(math.pi / 2.0 * slope).square_().add_(1.0).reciprocal_().mul_(slope / 2.0)
    if kind == "triangle":
        return v.abs_().mul_(-1.0 / width).add_(1.0).clamp_min_(0.0).mul_(slope / width)
    raise ValueError(f"surrogate {kind!r} is unknown; choose one of {', '.join(SURROGATES)}.")


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, kind: str, slope: float, width: float):
        ctx.save_for_backward(v)
        ctx.kind, ctx.slope, ctx.width = kind, slope, width
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        return grad * SURROGATES[ctx.kind](v, ctx.slope, ctx.width), None, None, None


def spike(v: Tensor, kind: str = "fast_sigmoid", slope: float = 10.0, width: float = 1.0) -> Tensor:
    """Heaviside(v) forward, the surrogate ``kind``'s pseudo-derivative backward."""
    if kind not in SURROGATES:
        raise ValueError(f"surrogate {kind!r} is unknown; choose one of {', '.join(SURROGATES)}.")
    return _Spike.apply(v, kind, slope, width)
