"""Stand-alone experiments that are not stream x method grids (run from a recipe with an
``experiment = "NAME"`` key, stored like grid cells)."""
from .critical_periods import critical_period_curve, deep_linear_pathways

EXPERIMENTS = {"critical_periods": critical_period_curve}

__all__ = ["EXPERIMENTS", "critical_period_curve", "deep_linear_pathways"]
