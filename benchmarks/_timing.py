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


def timeit_interleaved(fns, min_s=3.0, min_rounds=7):
    """Median seconds per call of each function in ``fns`` (a dict), called in turn round after
    round, so that the bursts of other processes on shared cores hit all of them alike and the
    ratios between them stay meaningful. One warm-up round."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    rounds, t_end = 0, time.perf_counter() + min_s
    while rounds < min_rounds or time.perf_counter() < t_end:
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
        rounds += 1
    return {k: statistics.median(v) for k, v in times.items()}
