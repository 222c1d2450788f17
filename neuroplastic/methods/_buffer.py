"""Rehearsal memories as preallocated tensors: reservoir sampling (Vitter 1985, as in ER and
DER++), a task-balanced episodic memory (A-GEM) and a class-balanced one filled at the end of
each experience (Avalanche's ClassBalancedBuffer, as in the stability-gap paper's ER).
Vectorised: a batch is added in one call."""
from __future__ import annotations

import torch
from torch import Tensor


class Reservoir:
    """A reservoir of ``size`` items; each item is a tuple of tensors (x, y, logits, task, ...).

    After n items were offered, each is in the reservoir with probability size / n: item number
    p (0-based) goes to slot p while the reservoir fills, afterwards to a uniform slot j in
    [0, p] when j < size. Within one batch, later items win a slot drawn twice (as sequentially).
    """

    def __init__(self, size: int, generator: torch.Generator):
        self.size, self.generator = int(size), generator
        self.seen_ = 0
        self.data_: list[Tensor] | None = None

    def __len__(self) -> int:
        return min(self.seen_, self.size)

    def add(self, *items: Tensor) -> None:
        n = len(items[0])
        if self.data_ is None:
            self.data_ = [torch.zeros((self.size, *t.shape[1:]), dtype=t.dtype, device=t.device) for t in items]
        pos = torch.arange(self.seen_, self.seen_ + n)
        draw = (torch.rand(n, generator=self.generator) * (pos + 1).double()).long()
        slots = torch.where(pos < self.size, pos, draw)
        keep = slots < self.size
        src_idx, slots = torch.arange(n)[keep], slots[keep]
        if len(slots):
            winner = torch.full((self.size,), -1, dtype=torch.long)
            winner.scatter_reduce_(0, slots, src_idx, reduce="amax")
            touched = slots.unique()
            src = winner[touched]
            dev = items[0].device
            for buf, t in zip(self.data_, items):
                buf[touched.to(dev)] = t[src.to(dev)].detach()
        self.seen_ += n

    def sample(self, k: int) -> list[Tensor]:
        n = len(self)
        idx = torch.randperm(n, generator=self.generator)[: min(k, n)]
        return [d[idx.to(d.device)] for d in self.data_]


class TaskBalanced:
    """An episodic memory of ``size`` items split equally over the tasks seen so far."""

    def __init__(self, size: int, generator: torch.Generator):
        self.size, self.generator = int(size), generator
        self.tasks_: list[list[Tensor]] = []

    def __len__(self) -> int:
        return sum(len(t[0]) for t in self.tasks_)

    def add_task(self, *items: Tensor) -> None:
        """Store a random subset of one finished task, then trim every task to size // tasks."""
        n = len(items[0])
        idx = torch.randperm(n, generator=self.generator)[: self.size].to(items[0].device)
        self.tasks_.append([t[idx].detach() for t in items])
        share = self.size // len(self.tasks_)
        self.tasks_ = [[t[:share] for t in task] for task in self.tasks_]

    def sample(self, k: int) -> list[Tensor]:
        data = [torch.cat(parts) for parts in zip(*self.tasks_)]
        idx = torch.randperm(len(data[0]), generator=self.generator)[:k].to(data[0].device)
        return [d[idx] for d in data]


class ClassBalanced:
    """A memory of ``size`` items split equally over the classes seen so far (the first
    ``size % classes`` classes get one more), filled with a random subset of each class when an
    experience ends (``add_experience``) and trimmed as new classes arrive."""

    def __init__(self, size: int, generator: torch.Generator):
        self.size, self.generator = int(size), generator
        self.classes_: dict[int, list[Tensor]] = {}

    def __len__(self) -> int:
        return sum(len(v[0]) for v in self.classes_.values())

    def add_experience(self, y: Tensor, *items: Tensor) -> None:
        """Store items (each indexed like ``y``) of the classes in ``y``, then rebalance."""
        for c in y.unique().tolist():
            idx = (y == c).nonzero().squeeze(1)
            idx = idx[torch.randperm(len(idx), generator=self.generator).to(idx.device)[: self.size]]
            old = self.classes_.get(c)
            fresh = [t[idx].detach() for t in (y, *items)]
            self.classes_[c] = fresh if old is None else [torch.cat([a, b]) for a, b in zip(old, fresh)]
        order = sorted(self.classes_)
        base, extra = divmod(self.size, len(order))
        for i, c in enumerate(order):
            self.classes_[c] = [t[: base + (i < extra)] for t in self.classes_[c]]

    def sample(self, k: int) -> list[Tensor]:
        """``k`` items drawn without replacement, uniformly over the memory: (y, *items)."""
        data = [torch.cat(parts) for parts in zip(*self.classes_.values())]
        idx = torch.randperm(len(data[0]), generator=self.generator)[:k].to(data[0].device)
        return [d[idx] for d in data]
