"""Timing helper shared by the benchmark scripts (stdlib only: it runs in either venv)."""
import ctypes
import ctypes.util
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


def faults_per_call(fn, calls=20):
    """Mean minor page faults per call of ``fn`` (after one warm-up call): memory that the
    allocator handed back to the OS and must fault in again, zeroed, on the next use. None where
    the platform has no ``resource`` module (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    By default glibc trims the top of the heap and unmaps large blocks as they are freed, so a
    loop that allocates and frees megabyte tensors page-faults them back in on every call
    (PyTorch's CPU tuning guide suggests jemalloc or tcmalloc for the same reason). Fixing the
    mmap threshold at its 32 MiB maximum and the trim threshold at 1 GiB stops that, for every
    function timed in the process alike. Returns False where it is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError, TypeError):
        return False
