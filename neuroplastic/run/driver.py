"""The driver: grid -> cells -> skip stored -> backend -> store each result as it arrives."""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .backends import BACKENDS
from .cell import Cell, Result
from .grid import build_cells, load_grid
from .store import Store

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    out: Path
    cells: int                       # cells in the grid
    skipped: int                     # already stored before this run
    finished: list[Result] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def run(grid=None, *, out: str | Path = "results.db", backend: str = "local", workers: int = 1,
        address: str | None = None, sets: dict | None = None, streams: list[str] | None = None,
        methods: list[str] | None = None, seeds: int | None = None, quick: bool = False,
        device: str | None = None, command: str | None = None, progress: bool | None = None) -> RunReport:
    """Run a grid (a TOML path, a dict, or None for the default comparison) into ``out``.

    ``workers``: local processes (1: in this process; 0: one per core). Every name, keyword and
    value is checked before any cell starts; cells already in ``out`` are
    skipped, so rerunning an interrupted grid completes it. Returns what ran and what failed.
    """
    from .._registry import ConfigError, check_name

    check_name(backend, BACKENDS, "backend")
    sets = dict(sets or {})
    if device is not None:
        sets["device"] = device
    grid_dict = load_grid(grid, sets, streams_only=streams, methods_only=methods, seeds=seeds, quick=quick)
    if "experiment" in grid_dict:            # a stand-alone experiment recipe, not a grid
        from .grid import EXPERIMENT_KEYS
        from .experiments import run_experiment

        extra = [k for k in grid_dict if k not in EXPERIMENT_KEYS]
        if extra:
            raise ConfigError(f"an experiment recipe takes only {', '.join(EXPERIMENT_KEYS)}; remove {extra}.")
        ran, skipped = run_experiment(grid_dict, out=out, command=command or "")
        return RunReport(Path(out), ran + skipped, skipped)
    cells = build_cells(grid_dict)
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise ConfigError("the grid has two identical cells (same stream, method, kwargs and seed); remove one.")
    with Store(out) as store:
        done = store.done()
        todo = [c for c in cells if c.key not in done]
        report = RunReport(Path(out), len(cells), len(cells) - len(todo))
        if not todo:
            return report
        if workers <= 0:                 # auto: one process per core, at most one per cell
            workers = min(os.cpu_count() or 1, len(todo))
        bar = _bar(len(todo), progress)
        outcomes = (BACKENDS["local"](todo, workers=workers) if backend == "local"
                    else BACKENDS["ray"](todo, address=address))
        try:
            for cell, outcome in outcomes:
                s, m = cell.labels
                if isinstance(outcome, Result):
                    outcome.env["command"] = command or " ".join(sys.argv)
                    store.put(outcome)
                    report.finished.append(outcome)
                    acc = 100 * sum(outcome.R[-1]) / len(outcome.R[-1])
                    bar.set_postfix_str(f"{s}/{m}/seed {cell.seed}: ACC {acc:.1f}")
                else:
                    log.error("cell %s/%s seed %s failed: %s", s, m, cell.seed, outcome)
                    report.failed.append((cell, f"{type(outcome).__name__}: {outcome}"))
                bar.update(1)
        finally:
            bar.close()
    return report


def _bar(total: int, progress: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc="cells", unit="cell", disable=disable, dynamic_ncols=True)
