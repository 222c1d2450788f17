"""Joint training: the offline upper bound on everything seen so far.

At experience t the network trains on the union of the training data of experiences 0..t
("cumulative" training, continuing from the current weights; Avalanche's ``Cumulative``). The
epochs of the training config apply to that union, so joint costs (t + 1) times an experience.
"""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from ..streams import Experience
from ._method import Method, index_batches
from .er import _task_vector


class Joint(Method):
    def __init__(self) -> None:
        super().__init__()
        self.data_: list[tuple[Tensor, Tensor, Tensor]] = []
        self.batch_task_: Tensor | None = None

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        x, y = exp.train
        self.data_.append((x, y, _task_vector(exp.task, y)))

    def batches(self, exp, *, batch_size, epochs, generator) -> Iterator[tuple[Tensor, Tensor]]:
        x, y, t = (torch.cat(parts) for parts in zip(*self.data_))
        for xb, yb, tb in index_batches(x, y, batch_size=batch_size, epochs=epochs,
                                        generator=generator, extra=(t,)):
            self.batch_task_ = None if exp.task is None else tb
            yield xb, yb

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(self.model(x, self.batch_task_), y)
