"""Running grids: cells, the SQLite store, local and Ray backends, summaries.

``neuroplastic.run(...)`` (the function) is :func:`neuroplastic.run.driver.run`.
"""
from __future__ import annotations

import sys
import types

from .cell import Cell, Diverged, Result, run_cell
from .driver import RunReport, run
from .grid import build_cells, load_grid
from .store import Store
from .summary import result_metrics, summarize



class _CallableModule(types.ModuleType):
    """``neuroplastic.run(grid, ...)`` calls :func:`neuroplastic.run.driver.run`, while
    ``neuroplastic.run.<module>`` stays importable."""

    def __call__(self, *args, **kwargs):
        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Cell", "Diverged", "Result", "RunReport", "Store", "build_cells", "load_grid",
           "result_metrics", "run", "run_cell", "summarize"]
