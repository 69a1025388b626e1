"""Building a dataset directory from a source, atomically.

``build_dataset`` runs the source's shard tasks (in worker processes when
``workers > 1``), writes ``shard-NNNNN.parquet`` for task ``NNNNN`` into a temporary
sibling directory ``.<name>.tmp-<pid>``, writes the manifest last and renames the
directory into place. A build killed at any point (even SIGKILL) leaves nothing at the
target; the next build removes temporary directories of dead processes.

>>> from hepgraph.registry import SOURCES                     # doctest: +SKIP
>>> src = SOURCES.get("trackml")(inputs=["train_1/"], mapping=None, seed=0, params={})
>>> build_dataset(src, "trackml_ds", workers=2)               # doctest: +SKIP
PosixPath('trackml_ds')
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph import __version__
from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.schema import SCHEMA_VERSION
from hepgraph.sources.base import Source
from hepgraph.store.manifest import describe_columns, find_manifest, now_utc, write_manifest
from hepgraph.store.shards import (
    DROPPED_KEY,
    ROW_GROUP_EVENTS,
    ROW_GROUP_HITS,
    ShardSummary,
    write_shard,
)
from hepgraph.store.splits import DEFAULT_FRACTIONS, split_record
from hepgraph.store.workers import pid_alive, run_parallel, shard_name

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def clean_stale_tmp(out: Path) -> list[Path]:
    """Tidy ``.<name>.tmp-<pid>`` / ``.<name>.old-<pid>`` siblings left by dead builds,
    never losing a complete dataset.

    A build killed between its two renames leaves no ``out`` but a complete new dataset
    (``tmp``, its manifest is written last) and the complete old one (``old``): the new one
    (else the old one) is renamed back to ``out``. Once ``out`` exists, the leftovers are
    superseded and removed.

    Returns:
        The removed paths.
    """
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    stale = [p for kind in ("tmp", "old") for p in sorted(out.parent.glob(f".{out.name}.{kind}-*"))
             if p.name.rsplit("-", 1)[-1].isdigit() and not pid_alive(int(p.name.rsplit("-", 1)[-1]))]
    if not out.exists():
        complete = [p for p in stale if p.is_dir() and find_manifest(p) is not None]
        if complete:
            os.rename(complete[0], out)
            stale.remove(complete[0])
            log.warning("restored %s from %s (a build was killed while replacing it)", out, complete[0].name)
    for p in stale:  # incomplete, or superseded by the `out` now in place
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


class DropEmpty(Source):
    """A source whose events without hits are dropped (``build-dataset --drop-empty``).

    Each chunk carries the number it dropped in its metadata (``DROPPED_KEY``), which
    :func:`~hepgraph.store.shards.write_shard` adds up, so the count reaches the manifest
    from worker processes and Dask tasks alike.
    """

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.name = inner.name

    def config(self) -> dict[str, Any]:
        """The wrapped source's configuration."""
        return self.inner.config()

    def info(self) -> Any:
        """The wrapped source's info."""
        return self.inner.info()

    def plan(self, max_events: int | None = None) -> list[Any]:
        """The wrapped source's tasks."""
        return self.inner.plan(max_events)

    def read(self, task: Any) -> Any:
        """The wrapped source's chunks without their hit-less events."""
        import pyarrow.compute as pc

        for chunk in self.inner.read(task):
            if chunk.num_rows == 0 or "x" not in chunk.column_names:
                yield chunk
                continue
            keep = pc.greater(pc.list_value_length(chunk.column("x")), 0)
            dropped = chunk.num_rows - int(pc.sum(keep).as_py() or 0)
            out = chunk.filter(keep)
            meta = dict(out.schema.metadata or {})
            meta[DROPPED_KEY] = str(dropped).encode()
            yield out.replace_schema_metadata(meta)


def build_dataset(
    source: Source,
    out: str | Path,
    *,
    max_events: int | None = None,
    seed: int = 0,
    workers: int = 0,
    overwrite: bool = False,
    progress: Progress | None = None,
    row_group_events: int = ROW_GROUP_EVENTS,
    row_group_hits: int = ROW_GROUP_HITS,
    split_fractions: Sequence[float] = DEFAULT_FRACTIONS,
    dask: Any = None,
    drop_empty: bool = False,
) -> Path:
    """Build a dataset directory from a source.

    Args:
        source: the event source (``SOURCES.get(name)(...)``).
        out: the dataset directory to create.
        max_events: at most this many events (passed to ``source.plan``).
        seed: recorded in the manifest (the source holds its own seed).
        workers: worker processes; 0 or 1 = in this process. Shard ``i`` = task ``i``
            whatever the number of workers, so the shards are identical.
        overwrite: replace an existing ``out``.
        progress: called with ``(events, hits)`` increments while shards are written.
        row_group_events: at most this many events per Parquet row group.
        row_group_hits: at most this many hits per row group.
        split_fractions: train/val/test fractions recorded in the manifest.
        dask: run the shard tasks on Dask instead: a ``distributed.Client`` or a
            ``--dask`` value (``local[:N]``, ``tcp://host:8786``); the workers write into
            the temporary directory, so it must be on a shared filesystem
            (see :mod:`hepgraph.store.distributed_build`).
        drop_empty: leave out events without hits (counted in the manifest's
            ``counts.dropped_empty``); kept by default (``counts.empty_events``).

    Returns:
        The dataset directory.

    Raises:
        ConfigError: ``out`` exists and ``overwrite`` is false, or bad arguments.
        DataError: no events selected, no hits at all, or the source's events break the schema.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():  # before the overwrite hint: overwrite would not help
        raise ConfigError(
            f"output path `{out}` is a file, not a dataset directory; choose another output directory"
        )
    if out.exists() and not overwrite:
        raise ConfigError(
            f"output directory `{out}` already exists; pass {setting('overwrite', True)} to replace it"
        )
    if max_events is not None and max_events <= 0:
        raise DataError(f"zero events selected ({setting('events', max_events)}); ask for at least one event")
    if workers < 0:
        raise ConfigError(f"workers `{workers}` must be >= 0")
    if dask is not None and workers > 1:
        raise ConfigError(f"{setting('workers', workers)} is for local builds; with {setting('dask')}, size the "
                          f"Dask cluster instead (for example {setting('dask', 'local:4')})")
    if drop_empty:
        source = DropEmpty(source)
    tasks = list(source.plan(max_events))
    if not tasks:
        raise DataError(
            f"zero events selected: source `{source.name}` planned no work; check the inputs"
        )

    created = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        rg = (row_group_events, row_group_hits)
        if dask is not None:
            from hepgraph.store.distributed_build import run_dask

            shards = run_dask(dask, source, tasks, tmp, rg, progress)
        elif workers > 1 and len(tasks) > 1:
            shards = run_parallel(source, tasks, tmp, min(workers, len(tasks)), rg, progress)
        else:
            shards = [write_shard(source.read(t), tmp / shard_name(i), row_group_events=rg[0],
                                  row_group_hits=rg[1], progress=progress)
                      for i, t in enumerate(tasks)]
        dropped = sum(s.dropped_empty for s in shards)
        shards = [s for s in shards if s.events > 0]
        manifest = _manifest(source, shards, seed=seed, max_events=max_events,
                             fractions=split_fractions, rg=rg, dropped=dropped)
        write_manifest(tmp, manifest)
        _commit(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in created:  # parents this build made (innermost first)
            try:
                p.rmdir()
            except OSError:
                break
        raise
    counts = manifest["counts"]
    log.info("wrote %s: %d events, %d hits", out, counts["events"], counts["hits"])
    return out


def _commit(tmp: Path, out: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out`` (moving an old ``out`` aside first when overwriting)."""
    old = None
    if out.exists():
        if not overwrite:
            raise ConfigError(
                f"output directory `{out}` appeared during the build; pass {setting('overwrite', True)}"
            )
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def hit_ranges(shards: Sequence[ShardSummary]) -> dict[str, Any]:
    """``hit_bounds`` (min/max of x, y, z, mm) and ``hit_extent``: the 0.1-99.9 % quantiles of
    a sample of hit positions, widened by 5 % a side, which images and voxel grids use when
    the source gives no detector extent (so a few stray hits do not squash the picture).
    The least widening is 1/1000 of the longest quantile range (so a flat axis has a width, and
    a detector in metres gets the same box as in mm, 1000 times smaller); 1 mm when every hit
    is at one point. Empty when the dataset has no finite hit position."""
    bounds = [s.bounds for s in shards if s.bounds is not None]
    if not bounds:
        return {}
    b = np.stack(bounds)
    lo, hi = b[:, :, 0].min(axis=0), b[:, :, 1].max(axis=0)
    sample = np.concatenate([s.positions for s in shards]).astype(np.float64)
    qlo, qhi = np.quantile(sample, 0.001, axis=0), np.quantile(sample, 0.999, axis=0)
    unit = 1e-3 * float((qhi - qlo).max())
    unit = unit if unit > 0 and np.isfinite(unit) else 1.0
    pad = np.maximum(0.05 * (qhi - qlo), unit)
    ext = np.stack([np.maximum(qlo - pad, lo - unit), np.minimum(qhi + pad, hi + unit)], 1)
    return {"hit_bounds": [[float(a), float(c)] for a, c in zip(lo, hi)],
            "hit_extent": [[_round(a, unit), _round(c, unit)] for a, c in ext]}


def _round(v: float, unit: float) -> float:
    """``v`` rounded to 1/1000 of ``unit`` or finer (3 decimals for a detector of metres in mm)."""
    digits = max(3, int(-np.floor(np.log10(unit))) + 3)
    return round(float(v), digits)


def _counts(hits: np.ndarray, particles: int, dropped: int) -> dict[str, int]:
    """Events, hits, particles; events without hits (kept or dropped) only when there are some."""
    out = {"events": int(len(hits)), "hits": int(hits.sum()), "particles": int(particles)}
    if (hits == 0).any():
        out["empty_events"] = int((hits == 0).sum())
    if dropped:
        out["dropped_empty"] = int(dropped)
    return out


def _manifest(source: Source, shards: list[ShardSummary], *, seed: int, max_events: int | None,
              fractions: Sequence[float], rg: tuple[int, int], dropped: int = 0) -> dict[str, Any]:
    if not shards and dropped:
        raise DataError(f"all {dropped} events of source `{source.name}` have no hits, so dropping empty events "
                        "left none; check the inputs, the hit columns and select.hits of the mapping")
    if not shards:
        raise DataError(
            f"zero events selected: source `{source.name}` produced no events (check the inputs "
            "and the selection)"
        )
    schema = shards[0].schema
    for s in shards[1:]:
        if s.schema != schema:
            a, b = set(schema.names), set(s.schema.names)
            diff = sorted(a ^ b) or [
                f.name for f in s.schema if f.type != schema.field(f.name).type
            ]
            raise DataError(
                f"shard `{s.path}` differs from `{shards[0].path}` in columns {diff}; every event "
                "of a dataset needs the same columns and types"
            )
    eids = np.concatenate([s.event_ids for s in shards])
    uniq, cnt = np.unique(eids, return_counts=True)
    if (cnt > 1).any():
        raise DataError(
            f"event_id {int(uniq[cnt > 1][0])} appears in more than one event; event ids must be "
            "unique within a dataset"
        )
    hits = np.concatenate([s.hit_counts for s in shards])
    if hits.sum() == 0:
        raise DataError(f"the {len(hits)} events of source `{source.name}` have no hits at all (every hit list is "
                        "empty); check the inputs, the hit columns and select.hits of the mapping")
    info = source.info()
    label_counts: dict[str, dict[str, int]] = {}
    for s in shards:
        for k, d in s.labels.items():
            acc = label_counts.setdefault(k, {})
            for v, c in d.items():
                acc[str(v)] = acc.get(str(v), 0) + c
    return {
        "schema_version": SCHEMA_VERSION,
        "hepgraph_version": __version__,
        "created": now_utc(),
        "source": {"name": source.name, "config": source.config()},
        "seed": seed,
        "max_events": max_events,
        "columns": describe_columns(schema, info.units),
        "label_names": info.label_names,
        "semantic_names": info.semantic_names,
        "default_task": info.default_task,
        "default_features": info.default_features,
        "extra": info.extra,
        "counts": _counts(hits, sum(s.particles for s in shards), dropped),
        "stats": {
            "hits_per_event": {"min": int(hits.min()), "median": float(np.median(hits)),
                               "mean": float(hits.mean()), "max": int(hits.max())},
            "label_counts": label_counts,
            **hit_ranges(shards),
        },
        "shards": [s.record() for s in shards],
        "splits": split_record(eids, fractions),
        "row_groups": {"max_events": rg[0], "max_hits": rg[1]},
    }
