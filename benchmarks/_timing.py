"""Timing helper shared by the benchmark scripts (stdlib only: it runs in either venv)."""
import time


def timeit(fn, min_s=1.0):
    """Seconds per call of ``fn``: one warm-up call, then as many calls as fit in ``min_s``."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n
