"""neuroplastic: brain-inspired learning under change, side by side on the same streams."""
from __future__ import annotations

__version__ = "0.1.0"

from . import data, streams  # noqa: E402
from ._registry import ConfigError  # noqa: E402

__all__ = ["ConfigError", "__version__", "data", "streams"]
