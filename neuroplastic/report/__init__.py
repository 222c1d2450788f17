"""Reports: one self-contained HTML file per results database."""
from .build import build_report

__all__ = ["build_report"]
