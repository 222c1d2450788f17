"""Multi-layer perceptron: flatten -> [Linear -> ReLU] x len(widths) -> head."""
from __future__ import annotations

import math

from torch import Tensor, nn

from ._heads import Head


class MLP(nn.Module):
    """MLP with ReLU hidden layers (e.g. 784-400-400-10), single- or multi-head output."""

    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (400, 400),
                 task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be positive integers, got {widths!r} (e.g. [400, 400]).")
        n_in, layers = math.prod(in_shape), []
        for w in widths:
            layers += [nn.Linear(n_in, int(w)), nn.ReLU()]
            n_in = int(w)
        self.body = nn.Sequential(nn.Flatten(), *layers)
        self.head = Head(n_in, n_classes, task_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.body(x), task)
