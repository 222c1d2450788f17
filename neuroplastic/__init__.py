"""neuroplastic: brain-inspired learning under change, side by side on the same streams."""
from __future__ import annotations

__version__ = "0.1.0"

from . import data, methods, metrics, models, streams  # noqa: E402
from ._registry import ConfigError  # noqa: E402
# `neuroplastic.run` is the function; its package stays importable as `neuroplastic.run.<module>`.
from .run import run  # noqa: E402

__all__ = ["ConfigError", "__version__", "data", "methods", "metrics", "models", "run", "streams"]
