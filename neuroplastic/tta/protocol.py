"""Test-time adaptation protocol.

``train_source(method, x, y, ...)`` trains the method's model on clean data with the method's own
``observe`` (cross-entropy), the same way for every TTA method, and caches the trained weights on
disk keyed by everything that determines them (``cache``: a folder, or None), so that a grid
trains each source once per seed.

``tta_batches(stream, setting, ...)`` yields ``(x, y, exp_index, reset)``; the runner hands only
``x`` to the method (no method ever sees a test label) and uses ``y`` to score the prediction
made on that batch (online error: the prediction comes before any later batch is seen).
Settings (the TTA benchmark conventions):

* ``reset_each_shift``: experiences one after another, adaptation carried over within an
  experience, reset to the source at each new one (TENT's protocol).
* ``episodic``: reset before every batch.
* ``continual``: experiences one after another, never reset (CoTTA's protocol).
* ``gradual``: per corruption the severities rise and fall (1 2 3 4 5 4 3 2 1), never reset;
  an experience met twice counts both times.
* ``mixed``: the samples of all experiences pooled and shuffled, batch by batch; never reset;
  errors still reported per experience.
* ``correlated``: like ``reset_each_shift`` but each experience's batches are sorted by label
  (non-i.i.d. test batches).

``run_tta(method, stream, setting=...)`` returns the online error per experience and the mean.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterator

import torch
from torch import Tensor

from ..streams import as_float

SETTINGS = ("reset_each_shift", "episodic", "continual", "gradual", "mixed", "correlated")


def _check_setting(setting: str) -> None:
    if setting not in SETTINGS:
        from .._registry import ConfigError, did_you_mean
        raise ConfigError(f"TTA setting {setting!r} is unknown.{did_you_mean(setting, SETTINGS)} "
                          f"Valid: {', '.join(SETTINGS)}.")


def _order(stream, setting: str) -> list[int]:
    if setting != "gradual":
        return list(range(len(stream)))
    by_corruption: dict[str, list[tuple[int, int]]] = {}
    for i, e in enumerate(stream):
        info = e.meta or {}
        by_corruption.setdefault(info.get("corruption", str(i)), []).append((info.get("severity", 0), i))
    order = []
    for items in by_corruption.values():
        up = [i for _, i in sorted(items)]
        order += up + up[-2::-1]
    return order


def tta_batches(stream, setting: str, *, batch_size: int = 128, seed: int = 0) -> Iterator[tuple[Tensor, Tensor, Tensor, bool]]:
    """(x float, y, experience index per sample, reset before this batch)."""
    _check_setting(setting)
    g = torch.Generator().manual_seed(seed)
    if setting == "mixed":
        xs = torch.cat([e.test[0] for e in stream])
        ys = torch.cat([e.test[1] for e in stream])
        ids = torch.cat([torch.full((len(e.test[1]),), i, dtype=torch.long) for i, e in enumerate(stream)])
        perm = torch.randperm(len(ys), generator=g).to(ys.device)
        for i in range(0, len(ys), batch_size):
            idx = perm[i:i + batch_size]
            yield as_float(xs[idx]), ys[idx], ids[idx.cpu()], False
        return
    first = True
    for k in _order(stream, setting):
        x, y = stream[k].test
        if setting == "correlated":
            order = torch.argsort(y.cpu() * len(y) + torch.randperm(len(y), generator=g)).to(y.device)
        else:
            order = torch.randperm(len(y), generator=g).to(y.device)
        for j, i in enumerate(range(0, len(y), batch_size)):
            idx = order[i:i + batch_size]
            reset = setting == "episodic" or (setting in ("reset_each_shift", "correlated") and j == 0)
            yield as_float(x[idx]), y[idx], torch.full((len(idx),), k, dtype=torch.long), reset and not first
            first = False


def run_tta(method, stream, *, setting: str = "reset_each_shift", batch_size: int = 128,
            seed: int = 0, keep_predictions: bool = False) -> dict:
    """Online adaptation of an already trained ``method`` over ``stream``; returns
    {"error": [per experience, %], "mean_error": %, "n": [samples scored per experience]}
    (and "predictions", one tensor per batch, with ``keep_predictions``)."""
    preds = []
    wrong = torch.zeros(len(stream))
    count = torch.zeros(len(stream))
    method.start_adaptation()
    try:
        for x, y, ids, reset in tta_batches(stream, setting, batch_size=batch_size, seed=seed):
            if reset:
                method.reset()
            pred = method.predict(x).argmax(1)
            if keep_predictions:
                preds.append(pred.cpu())
            miss = (pred != y).float().cpu()
            wrong.index_add_(0, ids, miss)
            count.index_add_(0, ids, torch.ones_like(miss))
    finally:
        method.end_adaptation()
    err = (100 * wrong / count.clamp_min(1)).tolist()
    out = {"error": err, "mean_error": sum(err) / len(err), "n": count.int().tolist()}
    if keep_predictions:
        out["predictions"] = preds
    return out


def _cache_file(cache: str | os.PathLike, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Path(cache) / f"source-{digest}.pt"


def train_source(method, x: Tensor, y: Tensor, *, epochs: int = 1, batch_size: int = 128, seed: int = 0,
                 cache: str | os.PathLike | None = None, key: dict | None = None) -> None:
    """Train ``method.model`` on clean (x uint8/float, y) with ``method.observe``; with ``cache``
    and ``key`` (everything that determines the weights), load them instead when cached."""
    from ..methods._method import index_batches

    path = _cache_file(cache, {**(key or {}), "epochs": epochs, "batch_size": batch_size, "seed": seed}) \
        if cache is not None else None
    if path is not None and path.is_file():
        try:
            method.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            # the method may keep clean samples (e.g. EATA's Fisher): show it one batch
            first = next(index_batches(x, y, batch_size=batch_size, epochs=1,
                                       generator=torch.Generator().manual_seed(seed)))
            if hasattr(method, "clean_"):
                method.clean_ = first[0][-getattr(method, "fisher_samples", len(first[0])):]
            return
        except (RuntimeError, EOFError, OSError):
            path.unlink(missing_ok=True)            # corrupt cache: train again
    g = torch.Generator().manual_seed(seed)
    for xb, yb in index_batches(x, y, batch_size=batch_size, epochs=epochs, generator=g):
        method.observe(xb, yb)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(method.model.state_dict(), tmp)
        os.replace(tmp, path)
