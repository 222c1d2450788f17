"""Split datasets: class-incremental (task hidden) or task-incremental (task id given).

``n_tasks`` experiences of equal class counts (Split-MNIST: 5 x 2), or with ``base=B`` the
"B + T" protocol of exemplar-free class-incremental learning (FeTrIL and others): a first
experience of B classes, then ``n_tasks`` equal experiences of the remaining classes.
The class order is a permutation drawn from ``seed`` (``shuffle_classes=False`` keeps 0..9).
Labels keep their original values; ``classes`` lists each experience's classes.
"""
from __future__ import annotations

import torch

from .._registry import ConfigError
from ._stream import (IMAGE_DATASETS, Experience, check_count, check_dataset, generator,
                      load_images, take_classes)

SCENARIOS = ("class", "task")


def split(*, dataset: str = "mnist", n_tasks: int = 5, base: int = 0, scenario: str = "class",
          shuffle_classes: bool = True, n_train: int | None = None, n_test: int | None = None,
          seed: int = 0) -> list[Experience]:
    check_dataset(dataset, IMAGE_DATASETS + ("mnist1d",), "split")
    check_count(n_train, "n_train"), check_count(n_test, "n_test")
    if scenario not in SCENARIOS:
        raise ConfigError(f"scenario must be one of {SCENARIOS}, got {scenario!r}.")
    x_tr, y_tr, x_te, y_te = load_images(dataset)
    all_classes = sorted(int(c) for c in y_tr.unique())
    rest = len(all_classes) - base
    if not isinstance(n_tasks, int) or n_tasks < 1 or base < 0 or rest < n_tasks or rest % n_tasks:
        raise ConfigError(
            f"cannot split {len(all_classes)} classes into base={base} plus n_tasks={n_tasks} equal "
            f"experiences; choose n_tasks dividing {rest} (e.g. n_tasks=5 with base=0 on 10 classes)."
        )
    order = all_classes
    if shuffle_classes:
        order = [all_classes[i] for i in torch.randperm(len(all_classes), generator=generator(seed, 2))]
    k = rest // n_tasks
    groups = ([order[:base]] if base else []) + [order[base + i * k: base + (i + 1) * k] for i in range(n_tasks)]
    stream = []
    for t, cls in enumerate(groups):
        g = generator(seed, 3, t)
        cls = tuple(sorted(cls))
        stream.append(Experience(
            t, take_classes(x_tr, y_tr, cls, n_train, g), take_classes(x_te, y_te, cls, n_test, g),
            cls, t if scenario == "task" else None,
            {"dataset": dataset, "scenario": scenario, "class_order": tuple(order)},
        ))
    return stream
