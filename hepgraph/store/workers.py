"""Local worker processes of ``build-dataset --workers N``: a fork server imports hepgraph
once and forks clean workers, each writing whole shards and reporting progress through a
queue; workers single-threaded, and ending soon after the build that started them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hepgraph.sources.base import Source
from hepgraph.store.shards import ShardSummary, write_shard

Progress = Callable[[int, int], None]

_QUEUE: Any = None


def shard_name(i: int) -> str:
    """File name of shard ``i``."""
    return f"shard-{i:05d}.parquet"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def single_threaded_libraries() -> None:
    """Limit BLAS/OpenMP pools to one thread in a worker process.

    Worker processes already use every core; numpy's OpenBLAS would otherwise start one
    thread per core in each worker, and the oversubscribed threads made a 2-worker
    build slower than a 1-worker one (per-task CPU time 0.39 s vs 0.19 s for sim-lartpc).
    """
    import pyarrow as pa

    pa.set_cpu_count(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        return
    threadpool_limits(1)


def _init_worker(queue: Any, owner: int) -> None:
    global _QUEUE
    _QUEUE = queue
    single_threaded_libraries()
    watch_owner(owner)


def watch_owner(owner: int, every_s: float = 0.5) -> None:
    """End this worker process (and the fork server above it) soon after process ``owner``
    is gone: a SIGKILLed build must not leave workers computing for nobody.

    Pool workers are children of the fork server, not of the build, so the parent-death
    signal of Linux cannot be used; a daemon thread polls the owner instead.
    """
    import signal
    import threading
    import time

    def watch() -> None:
        while pid_alive(owner):
            time.sleep(every_s)
        parent = os.getppid()
        if parent not in (1, owner):  # the fork server, orphaned with us
            try:
                os.kill(parent, signal.SIGTERM)
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, name="hepgraph-owner-watch", daemon=True).start()


def _run_task(source: Source, task: Any, path: str, rg_events: int, rg_hits: int) -> ShardSummary:
    """Worker entry point: write one shard, reporting progress through the queue."""
    q = _QUEUE
    progress = (lambda e, h: q.put((e, h))) if q is not None else None
    return write_shard(source.read(task), path, row_group_events=rg_events,
                       row_group_hits=rg_hits, progress=progress)


def run_parallel(source: Source, tasks: Sequence[Any], tmp: Path, workers: int,
                  rg: tuple[int, int], progress: Progress | None) -> list[ShardSummary]:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # Not plain fork: forked children of a process with Arrow/torch thread pools can
    # deadlock. A fork server (POSIX) imports hepgraph once and forks clean workers.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # The source's own module too, so its imports are paid once, not in every worker.
        ctx.set_forkserver_preload(["hepgraph.store.shards", type(source).__module__])
    else:
        ctx = mp.get_context("spawn")
    q = ctx.Queue()
    results: list[ShardSummary | None] = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(q, os.getpid())) as pool:
        futs = {pool.submit(_run_task, source, t, str(tmp / shard_name(i)), *rg): i
                for i, t in enumerate(tasks)}
        pending = set(futs)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(q, progress, queue_mod)
                for f in done:
                    results[futs[f]] = f.result()
        except BaseException:
            for f in pending:
                f.cancel()
            raise
        _drain(q, progress, queue_mod)
    return [r for r in results if r is not None]


def _drain(q: Any, progress: Progress | None, queue_mod: Any) -> None:
    while True:
        try:
            e, h = q.get_nowait()
        except queue_mod.Empty:
            return
        if progress is not None:
            progress(e, h)
