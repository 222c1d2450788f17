"""Every check that can fail a cell, made once before the first cell starts.

``build_cells`` checks names, keywords and types. ``preflight`` goes further and builds, on the
CPU, each distinct stream once (with the first seed: this also loads or fetches its dataset),
each distinct model on that stream's shapes, and each method bound to that model and its
optimizer. So a bad value (``n_tasks=0``, ``widths=[-5]``, a method that needs another model)
fails at once with the grid key that holds it, instead of failing every cell after the
first hour.
"""
from __future__ import annotations

import json
import logging

import torch

from .. import methods, models, streams
from .._paths import check_writable_dir
from .._registry import ConfigError
from .cell import Cell, make_optimizer, model_inputs

log = logging.getLogger(__name__)

#: a count of experiences beyond this is taken for a typo
MAX_TASKS = 10_000
_BAD_VALUE = (ConfigError, ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError)


def _canon(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=str)


def _fail(where: str, e: BaseException) -> ConfigError:
    text = str(e).removeprefix(f"{where}: ")
    return ConfigError(f"{where}: {text}" if text else f"{where}: {type(e).__name__}")


def _build_stream(cell: Cell):
    where = f"streams.{cell.labels[0]}"
    for key in ("n_tasks", "epochs"):
        v = cell.stream_kwargs.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > MAX_TASKS:
            raise ConfigError(f"{where}: {key}={v} is more than {MAX_TASKS:,} experiences; give fewer.")
    try:
        stream = streams.make(cell.stream, seed=cell.seed, **cell.stream_kwargs)
    except MemoryError as e:
        raise ConfigError(f"{where}: {cell.stream_kwargs} needs more memory than this machine has; "
                          "lower n_tasks or n_train.") from e
    except _BAD_VALUE as e:
        raise _fail(where, e) from e
    if not stream:
        raise ConfigError(f"{where}: the stream has no experiences; check its keywords ({cell.stream_kwargs}).")
    return stream


def preflight(cells: list[Cell]) -> None:
    """Build each distinct stream, model and method of ``cells`` once, on the CPU; raise
    ConfigError naming the grid key of the first that fails. Needs the datasets (fetches them)."""
    checked: set[str] = set()
    built: tuple[str, list] | None = None        # the last stream only: grids list cells stream by stream
    for cell in cells:
        skey = _canon({"s": cell.stream, "kw": cell.stream_kwargs})
        if built is None or built[0] != skey:
            built = (skey, _build_stream(cell))
        stream = built[1]
        slabel, mlabel = cell.labels
        key = _canon({"s": skey, "m": cell.model, "mkw": cell.model_kwargs, "meth": cell.method,
                      "methkw": cell.method_kwargs, "t": cell.train})
        if key in checked:
            continue
        checked.add(key)
        cls = methods.METHODS[cell.method]
        adapts = getattr(cls, "adapts", False)
        if adapts:
            _check_tta(cell, stream)
        where = f"model {cell.model!r} of streams.{slabel}"
        try:
            with torch.device("cpu"):
                model = models.make(cell.model, **model_inputs(stream, heads=not adapts), **cell.model_kwargs)
        except MemoryError as e:
            raise ConfigError(f"{where}: {cell.model_kwargs} needs more memory than this machine has.") from e
        except (*_BAD_VALUE, RuntimeError) as e:     # torch: "negative dimension", shape mismatches
            raise _fail(where, e) from e
        where = f"methods.{mlabel} on streams.{slabel}"
        try:
            kwargs = dict(cell.method_kwargs)
            if "seed" in cls.param_names():
                kwargs.setdefault("seed", cell.seed)
            method = methods.make(cell.method, **kwargs)
            method.setup(model, make_optimizer(model.parameters(), cell.train))
        except _BAD_VALUE as e:
            raise _fail(where, e) from e


def _check_tta(cell: Cell, stream) -> None:
    from ..data import data_home

    dataset = (stream[0].meta or {}).get("dataset")
    if not dataset:
        raise ConfigError(f"methods.{cell.labels[1]}: {cell.method} is a test-time-adaptation method: its stream "
                          f"must say which clean dataset trains the source model (use stream 'corrupted' or "
                          f"'domain_shift', not {cell.stream!r}).")
    try:
        check_writable_dir(data_home() / "sources", "the source-model cache (NEUROPLASTIC_DATA)")
    except ConfigError as e:
        raise ConfigError(f"{e} Set NEUROPLASTIC_DATA to a writable folder.") from e
