"""Plain Hebbian learning (Hebb 1949): dw = <post pre^T> - decay * w.

Shapes: w (n_out, n_in), pre (B, n_in), post (B, n_out); <.> is the batch mean (or sum).
``normalize=True`` rescales every row of w to unit norm after each step (a common way to keep
plain Hebbian growth bounded).
"""
from __future__ import annotations

from torch import Tensor

from ._rule import Rule, check_hyper, common_hyper, is_number, reduce


def hebbian(w: Tensor, pre: Tensor, post: Tensor, *, decay: float = 0.0, reduction: str = "mean") -> Tensor:
    return reduce(post.T @ pre, reduction, len(pre)) - decay * w


class Hebbian(Rule):
    fn = staticmethod(hebbian)

    def __init__(self, layers, *, lr: float = 0.01, decay: float = 0.0, normalize: bool = False,
                 reduction: str = "mean"):
        check_hyper(is_number(decay) and decay >= 0, "decay", decay, "a number >= 0")
        super().__init__(layers, common_hyper(lr, reduction, decay=decay, normalize=normalize))


    def after_step(self, layer, group) -> None:
        if group["normalize"]:
            w = layer.weight
            norms = w.reshape(w.shape[0], -1).norm(dim=1).clamp_min(1e-12)
            w.div_(norms.reshape(-1, *([1] * (w.dim() - 1))))
