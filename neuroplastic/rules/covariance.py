"""Covariance rule (Sejnowski 1977): dw = <(post - <post>) (pre - <pre>)^T>.

The means are those of the current batch, so the rule learns correlations, not mean activity.
"""
from __future__ import annotations

from torch import Tensor

from ._rule import Rule, check_hyper, is_number, reduce


def covariance(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    x = pre - pre.mean(0, keepdim=True)
    y = post - post.mean(0, keepdim=True)
    return reduce(y.T @ x, reduction, len(pre))


class Covariance(Rule):
    fn = staticmethod(covariance)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        check_hyper(is_number(lr) and lr > 0, "lr", lr, "a number > 0")
        check_hyper(reduction in ("mean", "sum"), "reduction", reduction, "'mean' or 'sum'")
        super().__init__(layers, dict(lr=lr, reduction=reduction))
