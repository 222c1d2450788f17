"""Rotated MNIST (domain-incremental): every task rotates all images by one fixed angle.

``angles`` gives the angles in degrees; otherwise ``n_tasks`` angles spread evenly over
[0, 180): t * 180 / n_tasks, as in ContinualEvaluation's ``rotmnist`` (20 tasks: 0, 9, ..., 171).
Rotation is bilinear about the image centre with zero fill, then quantised back to uint8.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._stream import (IMAGE_DATASETS, Experience, as_float, check_count, check_dataset, check_memory,
                      generator, load_images, take, to_uint8)


def rotate(x: Tensor, degrees: Tensor | float) -> Tensor:
    """Rotate float images (N, C, H, W) counter-clockwise by ``degrees`` (scalar or per image)."""
    n = x.shape[0]
    theta = torch.as_tensor(degrees, dtype=x.dtype).expand(n) * (math.pi / 180.0)
    c, s = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(c)
    mat = torch.stack([torch.stack([c, -s, zero], 1), torch.stack([s, c, zero], 1)], 1)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotated(*, dataset: str = "mnist", n_tasks: int = 5, angles: list[float] | None = None,
            task_labels: bool = False, n_train: int | None = None, n_test: int | None = None,
            seed: int = 0) -> list[Experience]:
    check_dataset(dataset, IMAGE_DATASETS, "rotated")
    check_count(n_train, "n_train"), check_count(n_test, "n_test")
    if angles is None:
        if not isinstance(n_tasks, int) or n_tasks < 1:
            raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}.")
        angles = [t * 180.0 / n_tasks for t in range(n_tasks)]
    x_tr, y_tr, x_te, y_te = load_images(dataset)
    classes = tuple(sorted(int(c) for c in y_tr.unique()))
    check_memory(len(angles), x_tr, x_te, n_train, n_test, 'rotated')
    stream = []
    for t, angle in enumerate(angles):
        g = generator(seed, 4, t)
        (xs, ys), (xt, yt) = take(x_tr, y_tr, n_train, g), take(x_te, y_te, n_test, g)
        xs, xt = (to_uint8(rotate(as_float(v), float(angle))) for v in (xs, xt))
        stream.append(Experience(t, (xs, ys), (xt, yt), classes, t if task_labels else None,
                                 {"angle": float(angle), "dataset": dataset}))
    return stream
