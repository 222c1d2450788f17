"""Methods whose network never learns by gradient: a frozen feature map (a liquid, a reservoir)
whose features of each training batch are recorded once, then a read-out fitted at ``end``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..streams import as_float
from ._method import Method


class FrozenFeatures(Method):
    """``batches`` makes one pass over the experience (``train.epochs`` is ignored: the features
    of a frozen map do not change); ``observe`` records ``model.features(x)`` and the labels in
    ``feats_`` / ``labels_`` and returns the current read-out's loss on them."""

    def __init__(self) -> None:
        super().__init__()
        self.feats_: list[Tensor] = []
        self.labels_: list[Tensor] = []

    def begin(self, exp) -> None:
        super().begin(exp)
        self.feats_, self.labels_ = [], []

    def batches(self, exp, *, batch_size, epochs, generator):
        x, y = exp.train
        for i in range(0, len(y), max(batch_size, 1)):
            yield as_float(x[i:i + batch_size]), y[i:i + batch_size]

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        f = self.model.features(x)
        self.feats_.append(f)
        self.labels_.append(y)
        with torch.no_grad():
            return F.cross_entropy(self.model.head(f, self.task_), y).detach()

    def recorded(self) -> tuple[Tensor, Tensor]:
        """The experience's features and labels, and forget them."""
        feats, y = torch.cat(self.feats_), torch.cat(self.labels_)
        self.feats_, self.labels_ = [], []
        return feats, y

    @torch.no_grad()
    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        return self.model.head(self.model.features(x), task)
