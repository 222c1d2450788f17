"""Label-shuffled tasks on one fixed image subset: the loss-of-plasticity stream.

Every task relabels the same ``n_train`` training images with fresh uniformly random labels and
asks the learner to fit them (memorisation; Lyle et al. 2023, Kumar et al. 2023 and Dohare et
al. 2024 use this kind of stream to show plasticity loss). The test set of a task *is* its
training set with that task's labels, so a task's accuracy right after training on it (the
diagonal of the accuracy matrix) measures how well the network can still learn something new.
"""
from __future__ import annotations

import torch

from ._stream import IMAGE_DATASETS, Experience, check_count, check_dataset, generator, load_images, take


def shuffled_labels(*, dataset: str = "mnist", n_tasks: int = 50, n_train: int | None = 1000,
                    seed: int = 0) -> list[Experience]:
    check_dataset(dataset, IMAGE_DATASETS, "shuffled_labels")
    check_count(n_train, "n_train")
    if not isinstance(n_tasks, int) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}.")
    x_tr, y_tr, _, _ = load_images(dataset)
    xs, _ = take(x_tr, y_tr, n_train, generator(seed, 6))
    n_classes = int(y_tr.max()) + 1
    classes = tuple(range(n_classes))
    stream = []
    for t in range(n_tasks):
        labels = torch.randint(0, n_classes, (len(xs),), generator=generator(seed, 6, t))
        stream.append(Experience(t, (xs, labels), (xs, labels), classes, None, {"dataset": dataset}))
    return stream
