"""Experience Replay with a reservoir buffer (Chaudhry et al. 2019, "On tiny episodic memories
in continual learning"; the form of Mammoth's ``models/er.py``).

Each step trains on the current batch concatenated with ``replay_batch_size`` examples drawn
from the buffer (cross-entropy on both), then offers the current batch to the reservoir.

Options for the protocol of the stability-gap paper (De Lange et al. 2023, ICLR; read from
Mattdl/ContinualEvaluation, src/methods/replay.py): ``storage="class_balanced"`` fills a
class-balanced memory with random samples of each experience when it ends (instead of the
reservoir at every step), and ``new_weight`` = w weighs the two losses apart,
w * mean CE(new) + (1 - w) * mean CE(replay) (their ``Lw_new``; on the first experience only the
first term). Replay samples are drawn uniformly over the memory (theirs draw a class, then a
sample: the same when classes hold equal shares) [I].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..streams import as_float
from ._buffer import ClassBalanced, Reservoir
from ._method import Method, check, is_number


class ER(Method):
    def __init__(self, *, buffer_size: int = 500, replay_batch_size: int | None = None,
                 storage: str = "reservoir", new_weight: float | None = None, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(buffer_size, int) and buffer_size > 0, "buffer_size", buffer_size, "a positive integer")
        check(replay_batch_size is None or (isinstance(replay_batch_size, int) and replay_batch_size > 0),
              "replay_batch_size", replay_batch_size, "a positive integer or None (the training batch size)")
        check(storage in ("reservoir", "class_balanced"), "storage", storage, "'reservoir' or 'class_balanced'")
        check(new_weight is None or (is_number(new_weight) and 0 <= new_weight <= 1), "new_weight", new_weight,
              "None (one cross-entropy over new and replayed samples) or a weight in [0, 1]")
        self.buffer_size, self.replay_batch_size, self.seed = buffer_size, replay_batch_size, seed
        self.storage, self.new_weight = storage, new_weight
        gen = torch.Generator().manual_seed(seed)
        self.buffer_ = Reservoir(buffer_size, gen) if storage == "reservoir" else ClassBalanced(buffer_size, gen)

    def observe(self, x, y):
        self.model.train()
        task = _task_vector(self.task_, y)
        bx, by, bt = x, y, task
        if len(self.buffer_):
            mx, my, mt = self._replay(self.replay_batch_size or len(y))
            bx, by, bt = torch.cat([x, mx]), torch.cat([y, my]), torch.cat([task, mt])
        self.optimizer.zero_grad(set_to_none=True)
        out = self.model(bx, _as_task(self.task_, bt))
        if self.new_weight is None:
            loss = F.cross_entropy(out, by)
        else:
            n = len(y)
            loss = self.new_weight * F.cross_entropy(out[:n], y)
            if len(by) > n:
                loss = loss + (1 - self.new_weight) * F.cross_entropy(out[n:], by[n:])
        loss.backward()
        self.optimizer.step()
        if self.storage == "reservoir":
            self.buffer_.add(x, y, task)
        return loss.detach()

    def _replay(self, k: int):
        if self.storage == "reservoir":
            return self.buffer_.sample(k)
        my, mx, mt = self.buffer_.sample(k)
        return mx, my, mt

    def end(self, exp) -> None:
        if self.storage == "class_balanced":
            x, y = exp.train
            self.buffer_.add_experience(y, as_float(x), _task_vector(self.task_, y))


def _task_vector(task, y):
    """Per-sample task ids (-1 where the scenario hides the task)."""
    return torch.full_like(y, -1 if task is None else task)


def _as_task(task, t):
    """What the model gets: None in class/domain-incremental scenarios, else per-sample ids."""
    return None if task is None else t
