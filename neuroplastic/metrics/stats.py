"""Statistics across seeds."""
from __future__ import annotations

import math

import numpy as np


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two-sided t-distribution confidence interval of the mean.

    NaN values are dropped; with fewer than two values the interval is (nan, nan).
    """
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    from scipy import stats   # imported here: scipy.stats alone takes ~0.5 s to import

    half = float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def paired_test(a, b) -> tuple[float, str]:
    """Two-sided p-value that ``a`` and ``b`` differ, and the test's name.

    Paired t-test over matched seeds (``a[i]`` and ``b[i]`` from the same seed) when both have the
    same length >= 2; NaN when there are fewer than two pairs. Identical samples give p = 1.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b):
        raise ValueError(f"paired_test needs matched samples, got {len(a)} and {len(b)} values.")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return float("nan"), "paired t-test"
    d = a - b
    if np.allclose(d, d[0]):
        return (1.0 if d[0] == 0 else 0.0), "paired t-test"
    return float(stats.ttest_rel(a, b).pvalue), "paired t-test"
