"""Power-law task recurrence on Permuted MNIST (seed #44, "simulated naturalistic learning
environments"). RECONSTRUCTION: no code was published; this follows SYSTEMS.md section 2.10 [I].

Tasks are Permuted-MNIST permutations introduced one after another. After each new task t >= 1,
``rehearsals_per_task`` rehearsal experiences follow; each picks an earlier task i < t with
probability proportional to (Delta_i + 1) ** -alpha, where Delta_i is the number of experiences
since task i was last seen (Anderson & Schooler's environmental power law; alpha = 1 by
default), and presents ``n_rehearse`` stored examples of it. ``meta`` marks each experience as
``"new"`` or ``"rehearsal"`` and names its ``task_id``; ``test`` is always that task's test set,
so evaluation per unique task uses the first experience of each task id.
"""
from __future__ import annotations

import torch

from .._registry import ConfigError
from ._stream import Experience
from .permuted import permuted


def recurrence_probabilities(since_seen: torch.Tensor, alpha: float) -> torch.Tensor:
    """p_i proportional to (Delta_i + 1) ** -alpha."""
    w = (since_seen.double() + 1.0) ** (-alpha)
    return w / w.sum()


def power_law(*, dataset: str = "mnist", n_tasks: int = 10, alpha: float = 1.0,
              rehearsals_per_task: int = 3, n_rehearse: int = 300, n_train: int | None = None,
              n_test: int | None = None, seed: int = 0) -> list[Experience]:
    if alpha < 0 or rehearsals_per_task < 0 or n_rehearse < 1:
        raise ConfigError("need alpha >= 0, rehearsals_per_task >= 0 and n_rehearse >= 1, got "
                          f"alpha={alpha!r}, rehearsals_per_task={rehearsals_per_task!r}, n_rehearse={n_rehearse!r}.")
    tasks = permuted(dataset=dataset, n_tasks=n_tasks, n_train=n_train, n_test=n_test, seed=seed)
    g = torch.Generator().manual_seed(int(seed) * 7919 + 44)
    last_seen = torch.zeros(n_tasks, dtype=torch.long)
    stream: list[Experience] = []

    def add(task: Experience, train, kind: str) -> None:
        last_seen[task.index] = len(stream)
        stream.append(Experience(len(stream), train, task.test, task.classes, None,
                                 {"task_id": task.index, "kind": kind, "dataset": dataset}))

    for t, task in enumerate(tasks):
        add(task, task.train, "new")
        for _ in range(rehearsals_per_task if t >= 1 else 0):
            since = len(stream) - last_seen[:t]
            i = int(torch.multinomial(recurrence_probabilities(since, alpha).float(), 1, generator=g))
            x, y = tasks[i].train
            pick = torch.randperm(len(y), generator=g)[:n_rehearse]
            add(tasks[i], (x[pick], y[pick]), "rehearsal")
    return stream
