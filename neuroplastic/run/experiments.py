"""Experiments that are not stream x method grids (associative memories, critical periods) into
the results database: one cell per (experiment, model, seed), keyed like grid cells, stored one
transaction each, skipped when already stored."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import torch

from .._registry import ConfigError
from .cell import Cell, Result, environment
from .store import Store

log = logging.getLogger(__name__)


def _run_cells(cells: list[tuple[Cell, Callable[[], dict]]], out: str | Path, command: str,
               field: str = "memory") -> tuple[int, int]:
    """Run the cells not yet in ``out``, storing what each returns in Result.<field>; returns
    (ran, skipped)."""
    ran = skipped = 0
    with Store(out) as store:
        done = store.done()
        for cell, fn in cells:
            if cell.key in done:
                skipped += 1
                continue
            log.info("memory cell %s / %s seed %d", *cell.labels, cell.seed)
            t = time.perf_counter()
            memory = fn()
            env = environment(torch.device("cpu"))
            env["command"] = command
            store.put(Result(key=cell.key, cell=cell.config(), R=[], b=[], curves={},
                             costs={"wall_s": time.perf_counter() - t}, plasticity={}, env=env, **{field: memory}))
            ran += 1
    return ran, skipped


def run_capacity(models: list[str], patterns: str, *, seeds: int = 1, out: str | Path = "results.db",
                 command: str = "", **kwargs) -> tuple[int, int]:
    """``capacity`` (memory.experiments) for each model and seed on the same patterns."""
    from ..memory import experiments

    unknown = [m for m in models if m not in experiments.MODELS]
    if unknown:
        raise ConfigError(f"unknown memory model(s) {unknown}; choose from {', '.join(experiments.MODELS)}")
    if patterns not in experiments.PATTERNS:
        raise ConfigError(f"unknown patterns {patterns!r}; choose one of {', '.join(experiments.PATTERNS)}")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    method_kw = {k: kwargs.pop(k) for k in ("degree", "beta") if k in kwargs}
    cells = []
    for model in models:
        mk = {k: v for k, v in method_kw.items() if (k == "degree" and model == "dense")
              or (k == "beta" and model in ("modern", "exponential"))}
        label = model + "".join(f" {k}={v}" for k, v in mk.items())
        for seed in range(seeds):
            cell = Cell(stream="memory_capacity", stream_kwargs={"patterns": patterns, **kwargs}, method=model,
                        method_kwargs=mk, model="memory", model_kwargs={}, train={}, seed=seed, device="cpu",
                        stream_label=f"memory capacity: {patterns}", method_label=label)
            cells.append((cell, lambda m=model, s=seed, mk=mk: experiments.capacity(m, patterns, seed=s,
                                                                                  **kwargs, **mk)))
    return _run_cells(cells, out, command)


def run_multitask(*, seeds: int = 1, out: str | Path = "results.db", command: str = "",
                  settings: dict[str, dict] | None = None, **kwargs) -> tuple[int, int]:
    """``multitask_overlaps`` for each named setting (default: patterns, supervised and
    unsupervised examples) and seed."""
    from ..memory import experiments

    settings = settings or {"from patterns": {},
                            "supervised, 30 examples r=0.4": {"examples": 30, "quality": 0.4, "supervised": True},
                            "unsupervised, 30 examples r=0.4": {"examples": 30, "quality": 0.4, "supervised": False}}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    cells = []
    for label, mk in settings.items():
        for seed in range(seeds):
            cell = Cell(stream="memory_multitask", stream_kwargs=kwargs, method="multitask", method_kwargs=mk,
                        model="memory", model_kwargs={}, train={}, seed=seed, device="cpu",
                        stream_label="multitasking Hebbian network", method_label=label)
            cells.append((cell, lambda s=seed, mk=mk: experiments.multitask_overlaps(seed=s, **kwargs, **mk)))
    return _run_cells(cells, out, command)


def run_mil(pools: list[str], *, seeds: int = 1, out: str | Path = "results.db", command: str = "",
            **kwargs) -> tuple[int, int]:
    """MNIST-bags MIL (memory.mil.train_mil) for each pooling and seed."""
    from ..memory import mil

    unknown = [p for p in pools if p not in mil.POOLS]
    if unknown:
        raise ConfigError(f"unknown pooling(s) {unknown}; choose from {', '.join(mil.POOLS)}")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    cells = []
    for pool in pools:
        for seed in range(seeds):
            cell = Cell(stream="memory_mil", stream_kwargs=kwargs, method=pool, method_kwargs={}, model="memory",
                        model_kwargs={}, train={}, seed=seed, device="cpu", stream_label="MNIST-bags MIL",
                        method_label=f"{pool} pooling")
            cells.append((cell, lambda p=pool, s=seed: {"mil": mil.train_mil(pool=p, seed=s, **kwargs)}))
    return _run_cells(cells, out, command)


def run_experiment(grid: dict, *, out: str | Path = "results.db", command: str = "") -> tuple[int, int]:
    """A recipe with ``experiment = "NAME"``: one cell per seed, its ``[settings]`` as keywords."""
    from ..experiments import EXPERIMENTS
    from .._registry import check_name, check_kwargs
    from .grid import _check_seeds

    name = check_name(grid["experiment"], EXPERIMENTS, "experiment")
    settings = dict(grid.get("settings", {}))
    check_kwargs(EXPERIMENTS[name], settings, f"experiment {name!r}")
    cells = []
    for seed in _check_seeds(grid.get("seeds", 1)):
        cell = Cell(stream=name, stream_kwargs=settings, method=name, method_kwargs={}, model="experiment",
                    model_kwargs={}, train={}, seed=seed, device="cpu", stream_label=name.replace("_", " "),
                    method_label=name)
        cells.append((cell, lambda s=seed: EXPERIMENTS[name](seed=s, **settings)))
    return _run_cells(cells, out, command, field="experiment")
