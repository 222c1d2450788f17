"""Permuted MNIST (domain-incremental): every task applies its own fixed pixel permutation.

Goodfellow et al. 2013 / Kirkpatrick et al. 2017. All tasks share the ten classes and one output
head; the task id is hidden (``task=None``) unless ``task_labels=True``. HLOP's protocol permutes
every task (``first_unpermuted=False``, the default); many papers keep task 0 as plain MNIST.
"""
from __future__ import annotations

import torch

from ._stream import (IMAGE_DATASETS, Experience, check_count, check_dataset, check_memory, generator,
                      load_images, take)


def permuted(*, dataset: str = "mnist", n_tasks: int = 5, first_unpermuted: bool = False,
             task_labels: bool = False, n_train: int | None = None, n_test: int | None = None,
             seed: int = 0) -> list[Experience]:
    check_dataset(dataset, IMAGE_DATASETS, "permuted")
    check_count(n_train, "n_train"), check_count(n_test, "n_test")
    if not isinstance(n_tasks, int) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}.")
    x_tr, y_tr, x_te, y_te = load_images(dataset)
    shape = x_tr.shape[1:]
    check_memory(n_tasks, x_tr, x_te, n_train, n_test, 'permuted')
    d = x_tr[0].numel()
    classes = tuple(sorted(int(c) for c in y_tr.unique()))
    stream = []
    for t in range(n_tasks):
        g = generator(seed, 1, t)
        perm = torch.arange(d) if (t == 0 and first_unpermuted) else torch.randperm(d, generator=g)
        xs, ys = take(x_tr, y_tr, n_train, g)
        xt, yt = take(x_te, y_te, n_test, g)
        xs = xs.reshape(len(xs), d)[:, perm].reshape(-1, *shape)
        xt = xt.reshape(len(xt), d)[:, perm].reshape(-1, *shape)
        stream.append(Experience(t, (xs, ys), (xt, yt), classes, t if task_labels else None,
                                 {"permutation": perm, "dataset": dataset}))
    return stream
