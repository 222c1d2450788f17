"""Experience Replay with a reservoir buffer (Chaudhry et al. 2019, "On tiny episodic memories
in continual learning"; the form of Mammoth's ``models/er.py``).

Each step trains on the current batch concatenated with ``replay_batch_size`` examples drawn
from the buffer (cross-entropy on both), then offers the current batch to the reservoir.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._buffer import Reservoir
from ._method import Method, check


class ER(Method):
    def __init__(self, *, buffer_size: int = 500, replay_batch_size: int | None = None, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(buffer_size, int) and buffer_size > 0, "buffer_size", buffer_size, "a positive integer")
        check(replay_batch_size is None or (isinstance(replay_batch_size, int) and replay_batch_size > 0),
              "replay_batch_size", replay_batch_size, "a positive integer or None (the training batch size)")
        self.buffer_size, self.replay_batch_size, self.seed = buffer_size, replay_batch_size, seed
        self.buffer_ = Reservoir(buffer_size, torch.Generator().manual_seed(seed))

    def observe(self, x, y):
        self.model.train()
        task = _task_vector(self.task_, y)
        bx, by, bt = x, y, task
        if len(self.buffer_):
            mx, my, mt = self.buffer_.sample(self.replay_batch_size or len(y))
            bx, by, bt = torch.cat([x, mx]), torch.cat([y, my]), torch.cat([task, mt])
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(bx, _as_task(self.task_, bt)), by)
        loss.backward()
        self.optimizer.step()
        self.buffer_.add(x, y, task)
        return loss.detach()


def _task_vector(task, y):
    """Per-sample task ids (-1 where the scenario hides the task)."""
    return torch.full_like(y, -1 if task is None else task)


def _as_task(task, t):
    """What the model gets: None in class/domain-incremental scenarios, else per-sample ids."""
    return None if task is None else t
