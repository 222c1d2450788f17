"""Oja's rule (Oja 1982, J. Math. Biol., eq. 5): dw_i = y_i (x - y_i w_i), with y = w x.

Batched: dw = <y x^T> - diag(<y^2>) w: two matrix-shaped operations, no (B, out, in) tensor.
A single neuron converges to the unit-norm top principal component of the input covariance.
"""
from __future__ import annotations

from torch import Tensor

from ._rule import Rule, check_hyper, is_number, reduce


def oja(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    hebb = post.T @ pre
    decay = (post * post).sum(0)[:, None] * w
    return reduce(hebb - decay, reduction, len(pre))


class Oja(Rule):
    fn = staticmethod(oja)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        check_hyper(is_number(lr) and lr > 0, "lr", lr, "a number > 0")
        check_hyper(reduction in ("mean", "sum"), "reduction", reduction, "'mean' or 'sum'")
        super().__init__(layers, dict(lr=lr, reduction=reduction))
