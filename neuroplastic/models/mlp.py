"""Multi-layer perceptron: flatten -> [Linear -> ReLU (or ELU)] x len(widths) -> head."""
from __future__ import annotations

import math

from torch import Tensor, nn

from ._heads import Head


class MLP(nn.Module):
    """MLP with ReLU hidden layers (e.g. 784-400-400-10), single- or multi-head output."""

    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (400, 400),
                 task_classes: list[tuple[int, ...]] | None = None, activation: str = "relu"):
        super().__init__()
        acts = {"relu": nn.ReLU, "elu": nn.ELU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {list(acts)}, got {activation!r}.")
        if not widths or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be positive integers, got {widths!r} (e.g. [400, 400]).")
        n_in, layers = math.prod(in_shape), []
        for w in widths:
            layers += [nn.Linear(n_in, int(w)), acts[activation]()]
            n_in = int(w)
        self.body = nn.Sequential(nn.Flatten(), *layers)
        self.head = Head(n_in, n_classes, task_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.body(x), task)
