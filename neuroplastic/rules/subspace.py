"""Oja's subspace rule (Oja 1989): dH = <y (x - H^T y)^T> = <y x^T> - <y y^T> H, with y = H x.

y x^T is the Hebbian term, -y y^T H the anti-Hebbian lateral term. The rows of H converge to an
orthonormal basis of the principal subspace of x (not to the components themselves). This is the
lateral-neuron rule HLOP builds on (SYSTEMS.md 2.1, HLOP-SNN hlop_module.py ``update_weights``).
"""
from __future__ import annotations

from torch import Tensor

from ._rule import Rule, common_hyper, reduce


def subspace(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    return reduce(post.T @ pre - (post.T @ post) @ w, reduction, len(pre))


class Subspace(Rule):
    fn = staticmethod(subspace)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        super().__init__(layers, common_hyper(lr, reduction))
