"""Timing helper shared by the benchmark scripts (stdlib only: it runs in either venv)."""
import statistics
import time


def timeit(fn, min_s=1.0, min_calls=5):
    """Median seconds per call of ``fn`` (one warm-up call; at least ``min_calls`` calls and
    ``min_s`` seconds): the median resists the other processes' bursts on shared cores."""
    fn()
    times, t_end = [], time.perf_counter() + min_s
    while len(times) < min_calls or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
