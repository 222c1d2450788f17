"""neuroplastic: brain-inspired learning under change, side by side on the same streams.

Subpackages load on first use (``neuroplastic.methods``, ``neuroplastic.streams``, ...), so the
command line answers ``--help`` without importing torch.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from ._registry import ConfigError  # noqa: E402  (no heavy imports)

_LAZY = ("data", "methods", "metrics", "models", "run", "streams")


def __getattr__(name: str):
    # `neuroplastic.run` is the run package, callable as the function neuroplastic.run.driver.run
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neuroplastic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["ConfigError", "__version__", "data", "methods", "metrics", "models", "run", "streams"]
