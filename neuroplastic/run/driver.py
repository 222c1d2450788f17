"""The driver: grid -> cells -> skip stored -> backend -> store each result as it arrives."""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .._paths import check_writable_file
from .._registry import ConfigError, check_name
from .backends import BACKENDS
from .cell import Cell, Result, code_identity, is_stale
from .grid import build_cells, load_grid
from .preflight import preflight
from .store import Store

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    out: Path
    cells: int                       # cells in the grid
    skipped: int                     # already stored before this run
    finished: list[Result] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)
    #: stored results of this grid that other code computed (kept unless rerun_stale)
    stale: int = 0
    #: cells another run on the same file was computing, so this run left them to it
    busy: int = 0
    #: stored rows that could not be read: (key, reason); this run recomputed them
    damaged: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def check_workers(workers) -> int:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ConfigError(f"workers={workers!r}: give 0 (one process per core), 1 (in this process) or more.")
    return workers


def run(grid=None, *, out: str | Path = "results.db", backend: str = "local", workers: int = 1,
        address: str | None = None, sets: dict | None = None, streams: list[str] | None = None,
        methods: list[str] | None = None, seeds: int | None = None, quick: bool = False,
        device: str | None = None, command: str | None = None, progress: bool | None = None,
        rerun_stale: bool = False) -> RunReport:
    """Run a grid (a TOML path, a dict, or None for the default comparison) into ``out``.

    ``workers``: local processes (1: in this process; 0: one per core). Before any cell starts,
    every name, keyword and value is checked, each distinct stream, model and method is built
    once, and ``out`` is checked writable. Cells already in ``out`` are skipped, so rerunning an
    interrupted grid completes it; cells that failed are stored as failures and retried. Stored
    results that other code computed are reported (``stale``) and recomputed with
    ``rerun_stale``. Each cell is claimed in ``out`` before it starts, so concurrent runs on one
    file split the cells. Returns what ran and what failed.
    """
    check_name(backend, BACKENDS, "backend")
    check_workers(workers)
    if seeds is not None and (not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1):
        raise ConfigError(f"seeds={seeds!r}: give a positive number of seeds.")
    sets = dict(sets or {})
    if device is not None:
        sets["device"] = device
    grid_dict = load_grid(grid, sets, streams_only=streams, methods_only=methods, seeds=seeds, quick=quick)
    check_writable_file(out, "--out")
    if "experiment" in grid_dict:            # a stand-alone experiment recipe, not a grid
        from .experiments import run_experiment
        from .grid import EXPERIMENT_KEYS

        extra = [k for k in grid_dict if k not in EXPERIMENT_KEYS]
        if extra:
            raise ConfigError(f"an experiment recipe takes only {', '.join(EXPERIMENT_KEYS)}; remove {extra}.")
        ran, skipped = run_experiment(grid_dict, out=out, command=command or "")
        return RunReport(Path(out), ran + skipped, skipped)
    cells = build_cells(grid_dict)
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise ConfigError("the grid has two identical cells (same stream, method, kwargs and seed); remove one.")
    preflight(cells)
    code = code_identity()
    with Store(out) as store:
        stored = {r.key: r for r in store.results()}
        stale = {c.key for c in cells if c.key in stored and is_stale(stored[c.key].env, code)}
        todo = [c for c in cells if c.key not in stored or (rerun_stale and c.key in stale)]
        report = RunReport(Path(out), len(cells), len(cells) - len(todo), stale=0 if rerun_stale else len(stale),
                           damaged=list(store.damaged))
        if stale and not rerun_stale:
            log.warning("%d stored result(s) of this grid come from other code (not version %s, commit %s); "
                        "they are kept: pass rerun_stale=True (--rerun-stale) to recompute them",
                        len(stale), code["neuroplastic"], (code["git_commit"] or "unknown")[:10])
        if not todo:
            return report
        if workers <= 0:                 # auto: one process per core, at most one per cell
            workers = min(os.cpu_count() or 1, len(todo))
        bar = _bar(len(todo), progress)

        replace = stale | {key for key, _ in store.damaged}

        def claimed():                   # each cell is claimed just before a worker takes it
            for c in todo:
                if store.claim(c.key, replace_result=c.key in replace):
                    yield c
                else:
                    report.busy += 1
                    bar.update(1)

        store.start_heartbeat()
        outcomes = (BACKENDS["local"](claimed(), workers=workers) if backend == "local"
                    else BACKENDS["ray"](claimed(), address=address))
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
                    why = f"{type(outcome).__name__}: {outcome}"
                    log.error("cell %s/%s seed %s failed: %s", s, m, cell.seed, why)
                    store.put_failure(cell, why, {**code, "command": command or " ".join(sys.argv)})
                    report.failed.append((cell, why))
                bar.update(1)
        finally:
            bar.close()
    return report


def _bar(total: int, progress: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc="cells", unit="cell", disable=disable, dynamic_ncols=True)
