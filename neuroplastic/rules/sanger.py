"""Sanger's generalised Hebbian algorithm (Sanger 1989, Neural Networks, eq. 3):
dw = <y x^T> - LT(<y y^T>) w, LT = lower triangle including the diagonal.

Row k converges to the k-th principal component (unit norm, in order of eigenvalue).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, common_hyper, reduce


def sanger(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    return reduce(post.T @ pre - torch.tril(post.T @ post) @ w, reduction, len(pre))


class Sanger(Rule):
    fn = staticmethod(sanger)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        super().__init__(layers, common_hyper(lr, reduction))
