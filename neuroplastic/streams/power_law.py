"""Power-law task recurrence on Permuted MNIST (seed #44, "simulated naturalistic learning
environments"). RECONSTRUCTION: no code was published; this follows SYSTEMS.md section 2.10 [I].

Tasks are Permuted-MNIST permutations introduced one after another. After each new task t >= 1,
``rehearsals_per_task`` rehearsal experiences follow; each picks an earlier task i < t with
probability proportional to (Delta_i + 1) ** -alpha, where Delta_i is the number of experiences
since task i was last seen (Anderson & Schooler's environmental power law; alpha = 1 by
default), and presents ``n_rehearse`` stored examples of it. ``meta`` marks each experience as
``"new"`` or ``"rehearsal"`` and names its ``task_id``; ``test`` is always that task's test set,
so evaluation per unique task uses the first experience of each task id.

``schedule`` sets how the rehearsed task is drawn, with the same budget (``rehearsals_per_task``
x ``n_rehearse`` samples after each new task) for all: ``"power_law"`` as above, ``"uniform"``
(every earlier task equally likely), ``"exponential"`` (p_i proportional to exp(-Delta_i / tau),
a memoryless forgetting environment), or ``"none"`` (no rehearsal: plain Permuted MNIST).
"""
from __future__ import annotations

import torch

from .._registry import ConfigError
from ._stream import Experience
from .permuted import permuted


SCHEDULES = ("power_law", "uniform", "exponential", "none")


def recurrence_probabilities(since_seen: torch.Tensor, alpha: float, schedule: str = "power_law",
                             tau: float = 3.0) -> torch.Tensor:
    """p_i proportional to (Delta_i + 1) ** -alpha (power law), 1 (uniform) or exp(-Delta_i / tau)."""
    d = since_seen.double()
    if schedule == "power_law":
        w = (d + 1.0) ** (-alpha)
    elif schedule == "uniform":
        w = torch.ones_like(d)
    elif schedule == "exponential":
        w = torch.exp(-(d - d.min()) / tau)          # shifted: the same distribution, no underflow
    else:
        raise ValueError(f"schedule={schedule!r} draws no task; expected one of {SCHEDULES[:3]}.")
    return w / w.sum()


def power_law(*, dataset: str = "mnist", n_tasks: int = 10, alpha: float = 1.0,
              rehearsals_per_task: int = 3, n_rehearse: int = 300, schedule: str = "power_law", tau: float = 3.0,
              n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> list[Experience]:
    if alpha < 0 or rehearsals_per_task < 0 or n_rehearse < 1 or not tau > 0:
        raise ConfigError("need alpha >= 0, rehearsals_per_task >= 0, n_rehearse >= 1 and tau > 0, got "
                          f"alpha={alpha!r}, rehearsals_per_task={rehearsals_per_task!r}, n_rehearse={n_rehearse!r}, "
                          f"tau={tau!r}.")
    if schedule not in SCHEDULES:
        raise ConfigError(f"schedule={schedule!r} is unknown; choose one of {', '.join(SCHEDULES)}.")
    if schedule == "none":
        rehearsals_per_task = 0
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
            i = int(torch.multinomial(recurrence_probabilities(since, alpha, schedule, tau).float(), 1, generator=g))
            x, y = tasks[i].train
            pick = torch.randperm(len(y), generator=g)[:n_rehearse]
            add(tasks[i], (x[pick], y[pick]), "rehearsal")
    return stream
