"""Where cells run. Each backend yields ``(cell, result_or_exception)`` as cells finish; only the
driver (the caller) writes results.

* ``local``: in-process (``workers=1``) or a pool of ``workers`` spawned processes, each with
  ``cores // workers`` intra-op threads and ``OMP_WAIT_POLICY=PASSIVE`` (busy-waiting OpenMP
  threads make small ops ~100x slower when the other core is busy).
* ``ray``: one remote task per cell on a Ray cluster (``address``) or a local Ray instance.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
from typing import Iterable, Iterator

from .cell import Cell, run_cell

Outcome = tuple[Cell, "Result | BaseException"]


def _init_worker(threads: int, parent: int) -> None:
    import threading

    import torch

    torch.set_num_threads(threads)
    # a worker whose driver was killed exits instead of lingering as an orphan
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def local(cells: Iterable[Cell], *, workers: int = 1) -> Iterator[Outcome]:
    """Run ``cells`` (consumed lazily: a cell is taken from the iterable only when a worker is
    free for it, so the driver can claim each cell just before it starts)."""
    if workers <= 1:
        for cell in cells:
            try:
                yield cell, run_cell(cell)
            except KeyboardInterrupt:
                raise
            except Exception as e:   # noqa: BLE001 - one failed cell must not lose the others
                yield cell, e
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ctx = mp.get_context("spawn")
    source = iter(cells)
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, os.getpid())) as pool:
        futures: dict = {}
        try:
            while True:
                while len(futures) < workers:
                    cell = next(source, None)
                    if cell is None:
                        break
                    futures[pool.submit(run_cell, cell)] = cell
                if not futures:
                    return
                done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    cell = futures.pop(fut)
                    try:
                        yield cell, fut.result()
                    except Exception as e:   # noqa: BLE001
                        yield cell, e
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def ray(cells: Iterable[Cell], *, address: str | None = None, num_cpus: int | None = None) -> Iterator[Outcome]:
    try:
        import ray as _ray
    except ImportError as e:
        raise RuntimeError("the ray backend needs Ray: pip install 'neuroplastic[ray]'") from e
    started = False
    if not _ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": num_cpus or os.cpu_count()}
        _ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        started = True
    try:
        remote = _ray.remote(num_cpus=1)(run_cell)
        window = max(1, int(_ray.cluster_resources().get("CPU", 1)))
        source = iter(cells)
        pending: dict = {}
        while True:
            while len(pending) < window:
                cell = next(source, None)
                if cell is None:
                    break
                pending[remote.remote(cell)] = cell
            if not pending:
                break
            done, _ = _ray.wait(list(pending), num_returns=1)
            ref = done[0]
            cell = pending.pop(ref)
            try:
                yield cell, _ray.get(ref)
            except _ray.exceptions.RayTaskError as e:
                yield cell, e.as_instanceof_cause() if hasattr(e, "as_instanceof_cause") else e
    finally:
        if started:
            _ray.shutdown()


BACKENDS = {"local": local, "ray": ray}
