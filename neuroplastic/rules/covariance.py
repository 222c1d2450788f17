"""Covariance rule (Sejnowski 1977): dw = <(post - <post>) (pre - <pre>)^T>.

The means are those of the current batch, so the rule learns correlations, not mean activity.
"""
from __future__ import annotations

from torch import Tensor

from ._rule import Rule, common_hyper, reduce


def covariance(w: Tensor, pre: Tensor, post: Tensor, *, reduction: str = "mean") -> Tensor:
    x = pre - pre.mean(0, keepdim=True)
    y = post - post.mean(0, keepdim=True)
    return reduce(y.T @ x, reduction, len(pre))


class Covariance(Rule):
    fn = staticmethod(covariance)

    def __init__(self, layers, *, lr: float = 0.01, reduction: str = "mean"):
        super().__init__(layers, common_hyper(lr, reduction))
