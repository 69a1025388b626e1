"""Running a dataset build's shard tasks on a Dask cluster (``build-dataset --dask``).

:func:`hepgraph.store.writer.build_dataset` plans the shard tasks, creates the temporary
build directory, writes the manifest and renames the directory into place; with
``dask=...`` it hands the tasks to :func:`run_dask` instead of local worker processes.
Each Dask task runs the local path's code, ``write_shard(source.read(task), ...)``, on a
worker, so shard ``i`` is byte-identical to a local build's shard ``i`` (same plan, same
seeds: simulators seed block ``i`` with ``SeedSequence([seed, i])``).

Assumptions and behaviour:

- **Shared filesystem.** Workers write the shards straight into the build directory
  (``.<out>.tmp-<pid>`` next to ``--out``), so the client and every worker must see it
  at the same absolute path (NFS, CephFS, EOS/FUSE, GPFS ...). This is checked on the
  connected workers before any task runs.
- **Atomic shards.** A task writes ``shard-NNNNN.parquet.part-<token>`` and renames it, so
  a shard file is either complete or absent even when a worker dies mid-write.
- **Retries.** Tasks are submitted with ``retries=2``: an unexpected exception (a flaky
  filesystem) re-runs the task; a killed worker process makes the scheduler re-run its
  tasks elsewhere. A user error (a :class:`~hepgraph.errors.HepgraphError` such as
  NaN coordinates or a missing branch) is *returned* by the task instead of raised, so it
  is not retried; the client re-raises it, lowest task index first, as the sequential
  local build would, so the one-line message is the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepgraph import errors
from hepgraph.errors import ConfigError, HepgraphError, MissingDependencyError, setting
from hepgraph.sources.base import Source
from hepgraph.store.shards import ShardSummary, write_shard

log = logging.getLogger(__name__)

#: Workers of ``--dask local`` when no ``:N`` is given.
DEFAULT_LOCAL_WORKERS = 2

#: Re-runs of a task that raised an unexpected exception.
RETRIES = 2

#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT_S = 10.0

INSTALL_HINT = "pip install hepgraph[dask]"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise MissingDependencyError(
            f"{setting('dask')} needs dask and distributed, which are not installed: {INSTALL_HINT}"
        ) from err
    return distributed


def parse_address(spec: str) -> tuple[str, int | str]:
    """Split a ``--dask`` value into ``("local", n_workers)`` or ``("remote", address)``.

    Args:
        spec: ``local``, ``local:N`` (N >= 1 worker processes) or a scheduler address
            such as ``tcp://host:8786`` (``host:8786`` is read as ``tcp://host:8786``).

    Raises:
        ConfigError: an empty value or a bad worker count.
    """
    s = spec.strip()
    if not s:
        raise ConfigError(f"{setting('dask')} needs a value: `local`, `local:N` or a scheduler address "
                          "such as `tcp://host:8786`")
    if s == "local" or s.startswith("local:"):
        n = s.partition(":")[2] or str(DEFAULT_LOCAL_WORKERS)
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"{setting('dask', spec)}: the worker count `{n}` must be an integer >= 1 "
                              f"(for example {setting('dask', 'local:4')})")
        return "local", int(n)
    return "remote", s if "://" in s else f"tcp://{s}"


@contextlib.contextmanager
def open_client(spec: str, *, dashboard: bool = True,
                timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A ``distributed.Client`` for a ``--dask`` value; closed (with its local cluster) on exit.

    ``local[:N]`` starts a ``LocalCluster`` of N single-threaded worker processes
    (``processes=True``: Arrow and the simulators hold the GIL part of the time).

    Args:
        spec: see :func:`parse_address`.
        dashboard: serve the Dask dashboard of a local cluster (on a free port; needs bokeh).
        timeout: seconds to wait for a remote scheduler.

    Raises:
        MissingDependencyError: dask/distributed are not installed.
        ConfigError: a bad value, or no scheduler answers at the address.
    """
    kind, where = parse_address(spec)
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        if kind == "local":
            import importlib.util

            on = dashboard and importlib.util.find_spec("bokeh") is not None
            stack.enter_context(_forkserver_workers())
            stack.enter_context(_local_worker_config())
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=int(where), threads_per_worker=1, processes=True,
                dashboard_address=":0" if on else None, silence_logs=logging.ERROR))
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = distributed.Client(where, timeout=timeout)
            except (OSError, TimeoutError) as err:
                raise ConfigError(
                    f"no Dask scheduler answered at `{where}` within {timeout:.0f} s; start one "
                    "(`dask scheduler`, or a dask-jobqueue cluster, see docs/dask.md) and pass "
                    f"its address, or use {setting('dask', 'local:N')}"
                ) from err
            stack.enter_context(client)
        yield client


def _forkserver_workers() -> Any:
    """Start local workers from a fork server that has imported hepgraph (and torch) once.

    With distributed's default (spawn) each worker re-imports everything, which costs
    seconds per worker; forking from a preloaded server starts them in well under one.
    """
    import multiprocessing as mp

    import dask
    from distributed import utils

    if "forkserver" not in mp.get_all_start_methods():
        return contextlib.nullcontext()
    if not getattr(utils, "_forkserver_preload_set", True):  # distributed's own preload flag
        mp.get_context("forkserver").set_forkserver_preload(
            ["distributed", "pyarrow.parquet", "hepgraph.store.distributed_build"])
        utils._forkserver_preload_set = True
    return dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})


def _local_worker_config() -> Any:
    """Config of ``--dask local`` workers: no statistical profiler.

    The profiler samples every worker thread's stack every 10 ms (for the dashboard's
    profile page); on shard building, which runs many small Python/Arrow calls, it cost
    about 40 % more CPU per task in ``benchmarks/dask_build.py``.
    """
    import dask

    return dask.config.set({"distributed.worker.profile.enabled": False})


def dashboard_link(client: Any) -> str | None:
    """The scheduler's dashboard URL, or None when it serves none."""
    import importlib.util

    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # noqa: BLE001 - only a nicety
        return None
    if "dashboard" not in services:
        return None
    local = getattr(client, "cluster", None) is not None
    if local and importlib.util.find_spec("bokeh") is None:
        return None  # the route only says "install bokeh"
    return str(client.dashboard_link)


@dataclass
class UserFailure:
    """A task's user error, returned (not raised) so that Dask does not retry it."""

    error: HepgraphError


def portable_error(err: HepgraphError) -> HepgraphError:
    """``err`` if it survives pickling, else the nearest :mod:`hepgraph.errors` class
    with the same message (a source's own subclass may take extra constructor args)."""
    try:
        back = pickle.loads(pickle.dumps(err))
        if type(back) is type(err) and str(back) == str(err):
            return err
    except Exception:  # noqa: BLE001 - any pickling failure: fall back below
        pass
    for cls in type(err).__mro__:
        if cls.__module__ == errors.__name__ and issubclass(cls, HepgraphError):
            return cls(str(err))
    return HepgraphError(str(err))


def run_shard_task(source: Source, task: Any, path: str, row_group_events: int,
                   row_group_hits: int) -> ShardSummary | UserFailure:
    """Worker side of one Dask task: the local path's ``write_shard(source.read(task))``.

    Writes ``path`` through a uniquely named ``.part`` file and a rename, so a retried or
    duplicated task never leaves a torn shard.

    Returns:
        The shard summary, or :class:`UserFailure` holding the task's HepgraphError.
    """
    final = Path(path)
    part = final.with_name(f"{final.name}.part-{uuid.uuid4().hex[:12]}")
    try:
        summary = write_shard(source.read(task), part, row_group_events=row_group_events,
                              row_group_hits=row_group_hits)
    except HepgraphError as err:
        return UserFailure(portable_error(err))
    if summary.events:
        os.replace(part, final)
    summary.path = final.name
    return summary


def _executing(prefix: str, token: str, dask_worker: Any = None) -> list[str]:
    """Keys of this build that a worker is still running (cancelled keys run to their end)."""
    return [str(ts.key) for ts in dask_worker.state.executing
            if str(ts.key).startswith(prefix) and str(ts.key).endswith(token)]


def _wait_until_idle(client: Any, prefix: str, token: str, timeout: float = 60.0) -> None:
    """Wait (up to ``timeout`` s) until no worker runs a task of this build, so that no late
    run writes a shard part after the build directory was cleaned and renamed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            busy = client.run(_executing, prefix, token)
        except Exception:  # noqa: BLE001 - a worker going away: ask again
            busy = {None: ["?"]}
        if not any(busy.values()):
            return
        time.sleep(0.1)
    log.warning("dask: tasks of this build still running after %.0f s", timeout)


def _identity(x: Any) -> Any:
    return x


def _check_shared_fs(client: Any, tmp: Path) -> None:
    seen = client.run(os.path.isdir, str(tmp))
    blind = sorted(addr for addr, ok in seen.items() if not ok)
    if blind:
        raise ConfigError(
            f"Dask worker(s) {', '.join(f'`{a}`' for a in blind)} cannot see the build directory "
            f"`{tmp}`: {setting('dask')} needs a filesystem shared by the client and the workers at the "
            "same path; put the output directory on it (see docs/dask.md)"
        )


def run_dask(
    dask: Any,
    source: Source,
    tasks: Sequence[Any],
    tmp: Path,
    rg: tuple[int, int],
    progress: Callable[[int, int], None] | None = None,
    *,
    retries: int = RETRIES,
) -> list[ShardSummary]:
    """Run every shard task on Dask; shard ``i`` = task ``i`` written to ``tmp``.

    Args:
        dask: a ``distributed.Client``, or a ``--dask`` value (a client is opened and
            closed here).
        source: the source (sent to each worker once).
        tasks: ``source.plan(...)``.
        tmp: the build directory (on a filesystem the workers share).
        rg: ``(row_group_events, row_group_hits)``.
        progress: called with ``(events, hits)`` of each shard as its task completes.
        retries: re-runs of a task after an unexpected exception.

    Returns:
        Shard summaries in task order.

    Raises:
        HepgraphError: the first (lowest-index) task that hit a user error, as in a local
            build; ConfigError when the workers cannot see ``tmp``.
    """
    if isinstance(dask, str):
        with open_client(dask, dashboard=False) as client:
            return run_dask(client, source, tasks, tmp, rg, progress, retries=retries)
    distributed = _import_distributed()
    client = dask
    tmp = tmp.resolve()
    _check_shared_fs(client, tmp)
    from hepgraph.store.workers import shard_name

    token = uuid.uuid4().hex[:8]
    # The source (with, say, 10k input paths) enters the graph once, as a task that the
    # scheduler can recompute if its worker dies, rather than once per shard task.
    src = client.submit(_identity, source, key=f"hepgraph-source-{token}", pure=False)
    futures = [
        client.submit(run_shard_task, src, t, str(tmp / shard_name(i)), rg[0], rg[1],
                      key=f"hepgraph-shard-{i:05d}-{token}", pure=False, retries=retries)
        for i, t in enumerate(tasks)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[ShardSummary | None] = [None] * len(futures)
    failures: dict[int, HepgraphError] = {}
    try:
        for fut in distributed.as_completed(futures):
            i = index[fut.key]
            if not (fut.cancelled() or (failures and i > min(failures))):
                res = fut.result()
                if isinstance(res, UserFailure):
                    failures[i] = res.error
                    # Later tasks cannot change which error a sequential build reports first.
                    client.cancel([f for f in futures[i + 1:] if not f.done()])
                else:
                    results[i] = res
                    if progress is not None:
                        progress(res.events, res.hits)
            if failures and all(f.done() for f in futures[:min(failures)]):
                # earlier tasks are done but as_completed may not have yielded them yet
                for j, f in enumerate(futures[:min(failures)]):
                    if results[j] is None and not f.cancelled() and f.status != "error":
                        res = f.result()
                        if isinstance(res, UserFailure):
                            failures[j] = res.error
                break
    finally:
        # Release every key of this build, finished ones included: a key the client still holds
        # is recomputed when the worker holding its result dies, and that late run would write
        # a shard part into the build directory after the clean-up below (or into the next
        # build's), long after this build returned.
        client.cancel([src, *futures], force=True)
        _wait_until_idle(client, "hepgraph-shard-", token)
    for part in tmp.glob("*.part-*"):  # torn writes of workers that died mid-task
        part.unlink(missing_ok=True)
    if failures:
        raise failures[min(failures)]
    log.info("dask: %d shard tasks done", len(futures))
    return [r for r in results if r is not None]
