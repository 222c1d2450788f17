"""Corruption streams for test-time adaptation: MNIST-C / Fashion-MNIST-C style, generated here.

One Experience per (corruption, severity), in the order given (by default every corruption of
:data:`corruptions.CORRUPTIONS` at severities 1-5, corruption-major). The corruptions are
procedural and deterministic for a seed; see :mod:`neuroplastic.streams.corruptions`. These are
*not* the published MNIST-C files: they are named ``corrupted`` for that reason.

The training part of each experience is empty by default (``n_train=0``): test-time adaptation
trains its source model on the clean dataset and adapts on the test images.
"""
from __future__ import annotations

import torch

from .._registry import ConfigError, check_name
from ._stream import (Experience, as_float, check_count, check_dataset, generator, load_images,
                      take, to_uint8)
from .corruptions import CORRUPTIONS

CHUNK = 4096


def corrupt(x: torch.Tensor, name: str, severity: int, seed: int) -> torch.Tensor:
    """Corrupt uint8 images (N, C, H, W) -> uint8, deterministically for (seed, name)."""
    fn = CORRUPTIONS[check_name(name, CORRUPTIONS, "corruption")]
    g = generator(seed, 6, list(CORRUPTIONS).index(name))
    return torch.cat([to_uint8(fn(as_float(x[i:i + CHUNK]), severity, g))
                      for i in range(0, len(x), CHUNK)]) if len(x) else x.clone()


def corrupted(*, dataset: str = "mnist", corruptions: list[str] | None = None,
              severities: list[int] | None = None, n_train: int | None = 0,
              n_test: int | None = None, seed: int = 0) -> list[Experience]:
    check_dataset(dataset, ("mnist", "fashion_mnist"), "corrupted")
    check_count(n_train, "n_train"), check_count(n_test, "n_test")
    names = list(CORRUPTIONS) if corruptions is None else list(corruptions)
    for name in names:
        check_name(name, CORRUPTIONS, "corruption")
    levels = [1, 2, 3, 4, 5] if severities is None else list(severities)
    for s in levels:
        if s not in (1, 2, 3, 4, 5):
            raise ConfigError(f"severities must be integers from 1 to 5, got {s!r}.")
    x_tr, y_tr, x_te, y_te = load_images(dataset)
    g = generator(seed, 7)
    xs, ys = take(x_tr, y_tr, n_train, g)
    xt, yt = take(x_te, y_te, n_test, g)
    classes = tuple(sorted(int(c) for c in y_tr.unique()))
    stream = []
    for name in names:
        for s in levels:
            stream.append(Experience(
                len(stream), (corrupt(xs, name, s, seed), ys), (corrupt(xt, name, s, seed), yt),
                classes, None, {"corruption": name, "severity": s, "dataset": dataset},
            ))
    return stream
