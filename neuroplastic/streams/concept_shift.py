"""Concept shift by label swaps: the homeostatic-network protocol (Man, Damasio & Neven 2022, #5).

As in the official ``swap_labels`` loop (kingsonman/homeostatic-neural-networks, lrh.py): the
training set is reshuffled every epoch; ``swaps_per_epoch`` = s times per epoch, at evenly spaced
points, two randomly chosen classes swap their labels in both the training and the test labels,
and the swaps compose over the whole run. Each stretch between two swaps is one Experience (an
epoch is one Experience when s = 0), so a learner sees the shift exactly where the paper's does.

Drifting rate: ``swaps_per_epoch`` may be a list with one rate per epoch, or ``drift_to`` moves
the rate linearly from ``swaps_per_epoch`` to ``drift_to`` over the epochs.
``meta["mapping"]`` holds each experience's label map (original class -> current label).
Test images are shared between experiences (one tensor); only the labels differ.
"""
from __future__ import annotations

import torch

from .._registry import ConfigError
from ._stream import (IMAGE_DATASETS, Experience, check_count, check_dataset, generator,
                      load_images, take)


def rates_per_epoch(swaps_per_epoch: int | list[int], epochs: int, drift_to: int | None) -> list[int]:
    if isinstance(swaps_per_epoch, list):
        if drift_to is not None:
            raise ConfigError("give either a list swaps_per_epoch or drift_to, not both.")
        if len(swaps_per_epoch) != epochs:
            raise ConfigError(f"swaps_per_epoch lists {len(swaps_per_epoch)} rates for {epochs} epochs.")
        rates = list(swaps_per_epoch)
    elif drift_to is None:
        rates = [swaps_per_epoch] * epochs
    else:
        steps = max(epochs - 1, 1)
        rates = [round(swaps_per_epoch + (drift_to - swaps_per_epoch) * e / steps) for e in range(epochs)]
    for r in rates:
        if not isinstance(r, int) or r < 0:
            raise ConfigError(f"swap rates must be non-negative integers, got {r!r}.")
    return rates


def concept_shift(*, dataset: str = "mnist", epochs: int = 10, swaps_per_epoch: int | list[int] = 1,
                  drift_to: int | None = None, n_train: int | None = None, n_test: int | None = None,
                  seed: int = 0) -> list[Experience]:
    check_dataset(dataset, IMAGE_DATASETS + ("mnist1d",), "concept_shift")
    check_count(n_train, "n_train"), check_count(n_test, "n_test")
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}.")
    rates = rates_per_epoch(swaps_per_epoch, epochs, drift_to)
    x_tr, y_tr, x_te, y_te = load_images(dataset)
    g = generator(seed, 5)
    xs, ys = take(x_tr, y_tr, n_train, g)          # the training set of this run
    xt, yt = take(x_te, y_te, n_test, g)
    n_classes = int(y_tr.max()) + 1
    classes = tuple(range(n_classes))
    mapping = torch.arange(n_classes)
    stream, swaps_done = [], 0
    for epoch, rate in enumerate(rates):
        order = torch.randperm(len(ys), generator=g)
        bounds = torch.linspace(0, len(ys), max(rate, 1) + 1).round().long().tolist()
        for seg in range(max(rate, 1)):
            idx = order[bounds[seg]:bounds[seg + 1]]
            stream.append(Experience(
                len(stream), (xs[idx], mapping[ys[idx]]), (xt, mapping[yt]), classes, None,
                {"epoch": epoch, "rate": rate, "swaps_before": swaps_done,
                 "mapping": tuple(mapping.tolist()), "dataset": dataset},
            ))
            if rate:                                   # swap two random classes after the stretch
                a, b = torch.randperm(n_classes, generator=g)[:2].tolist()
                mapping = mapping.clone()
                ia, ib = (mapping == a).nonzero().item(), (mapping == b).nonzero().item()
                mapping[ia], mapping[ib] = b, a
                swaps_done += 1
    return stream
