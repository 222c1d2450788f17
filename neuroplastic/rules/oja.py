"""Oja's rule (Oja 1982, J. Math. Biol., eq. 5): dw_i = y_i (x - y_i w_i), with y = w x.

Batched: dw = <y x^T> - diag(<y^2>) w: two matrix-shaped operations, no (B, out, in) tensor.
A single neuron converges to the unit-norm top principal component of the input covariance.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, batch_scale, common_hyper


def oja(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    scale = batch_scale(reduction, len(pre))
    # scale * (post^T pre - diag(sum_b post^2) w): the decay term written once, the GEMM adds into it
    decay = torch.linalg.vecdot(post, post, dim=0).mul_(-scale)
    return torch.mul(w, decay[:, None]).addmm_(post.T, pre, alpha=scale)


class Oja(Rule):
    fn = staticmethod(oja)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        super().__init__(layers, common_hyper(lr, reduction))
