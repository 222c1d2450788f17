"""The Experience record and the helpers every stream shares.

A stream is a ``list[Experience]``. Images stay uint8 of shape (N, 1, H, W) in memory (a quarter
of float32's size; corrupted and rotated images are quantised back to uint8 like MNIST-C's
PNGs); :func:`as_float` turns a batch into float32 in [0, 1]. MNIST-1D's signals are float32
(N, 40) already.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import torch
from torch import Tensor

from .. import data
from .._registry import ConfigError, check_name

IMAGE_DATASETS = ("mnist", "fashion_mnist", "digits")


@dataclass(frozen=True)
class Experience:
    """One step of a non-stationary stream.

    ``task`` is None where the scenario hides task identity (class- and domain-incremental).
    ``meta`` holds what generated the experience (permutation seed, angle, corruption and
    severity, label mapping, ...) for reports and checks.
    """

    index: int
    train: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    classes: tuple[int, ...]
    task: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        meta = {k: (f"<tensor {tuple(v.shape)}>" if isinstance(v, Tensor) else v)
                for k, v in self.meta.items()}
        return (f"Experience(index={self.index}, train={tuple(self.train[0].shape)}, "
                f"test={tuple(self.test[0].shape)}, classes={self.classes}, task={self.task}, "
                f"meta={meta})")


def as_float(x: Tensor) -> Tensor:
    """uint8 images -> float32 in [0, 1]; float inputs pass through."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def to_uint8(x: Tensor) -> Tensor:
    """float in [0, 1] -> uint8, rounded and clipped."""
    return x.clamp(0.0, 1.0).mul(255.0).round_().to(torch.uint8)


def check_dataset(dataset: str, allowed: tuple[str, ...], stream: str) -> str:
    check_name(dataset, data.DATASETS, "dataset")
    if dataset not in allowed:
        raise ConfigError(
            f"stream {stream!r} does not work on dataset {dataset!r}; choose one of {', '.join(allowed)}."
        )
    return dataset


def check_count(value: int | None, name: str) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ConfigError(f"{name} must be a non-negative integer or None (all), got {value!r}.")
    return value


def check_memory(n_tasks: int, x_train: Tensor, x_test: Tensor, n_train: int | None, n_test: int | None,
                 stream: str) -> None:
    """Refuse a stream whose experiences would not fit in half of this machine's memory
    (a typo such as n_tasks=1000000 fails at once instead of swapping for an hour)."""
    import psutil

    per_sample = x_train[0].numel() * x_train.element_size()
    n_tr = len(x_train) if n_train is None else min(n_train, len(x_train))
    n_te = len(x_test) if n_test is None else min(n_test, len(x_test))
    need = n_tasks * (n_tr + n_te) * per_sample
    have = psutil.virtual_memory().total
    if need > have / 2:
        raise ConfigError(f"stream {stream!r} with n_tasks={n_tasks} would hold {need / 2**30:.1f} GiB of inputs, more "
                          f"than half of this machine's {have / 2**30:.0f} GiB; lower n_tasks or n_train.")


def load_images(dataset: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The dataset with a channel axis on images: (N, 1, H, W) uint8; signals stay (N, L)."""
    x_tr, y_tr, x_te, y_te = data.load(dataset)
    if x_tr.dim() == 3:
        x_tr, x_te = x_tr.unsqueeze(1), x_te.unsqueeze(1)
    return x_tr, y_tr, x_te, y_te


def generator(seed: int, *salt: int) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and a salt (so each part of a stream has its own)."""
    g = torch.Generator()
    g.manual_seed(hash((int(seed),) + tuple(int(s) for s in salt)) & 0x7FFF_FFFF_FFFF_FFFF)
    return g


def take(x: Tensor, y: Tensor, n: int | None, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` samples drawn without replacement, in their original order (all of them, uncopied,
    when n is None: the runner shuffles batches itself)."""
    idx = torch.randperm(len(y), generator=g)
    if n is None:
        return x, y
    if n > len(y):
        raise ConfigError(f"asked for {n} samples but only {len(y)} are available; lower n_train/n_test.")
    idx = idx[:n].sort().values
    return x[idx], y[idx]


def take_classes(x: Tensor, y: Tensor, classes, n: int | None, g: torch.Generator) -> tuple[Tensor, Tensor]:
    mask = torch.isin(y, torch.as_tensor(list(classes), dtype=y.dtype))
    return take(x[mask], y[mask], n, g)
