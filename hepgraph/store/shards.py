"""Writing one shard: a source task's chunks -> validated Parquet with bounded row groups.

Runs in the builder process or in a worker process (see :mod:`hepgraph.store.writer`);
it returns a small picklable summary of the shard for the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hepgraph.errors import DataError
from hepgraph.events.validate import validate_table
from hepgraph.store.manifest import sha256_file

#: Parquet compression of the shards: LZ4 decodes fastest (float hit data barely compress
#: anyway); dictionary encoding is off for the same reason. Read by pyarrow and awkward.
COMPRESSION = "lz4"

#: Chunk metadata: events without hits a source wrapper dropped before this chunk (counted).
DROPPED_KEY = b"hepgraph.dropped_empty"

#: Default row-group bounds: whichever is reached first.
ROW_GROUP_EVENTS = 1024
ROW_GROUP_HITS = 1 << 18


@dataclass
class ShardSummary:
    """What the manifest records about one written shard (plus statistics)."""

    path: str
    events: int = 0
    hits: int = 0
    particles: int = 0
    row_groups: int = 0
    bytes: int = 0
    sha256: str = ""
    schema: pa.Schema | None = None
    hit_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    event_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    labels: dict[str, dict[int, int]] = field(default_factory=dict)
    dropped_empty: int = 0
    #: (3, 2) min/max of the finite hit x, y, z (mm), or None without hits
    bounds: np.ndarray | None = None
    #: (M, 3) every k-th finite hit position (M <= POSITION_SAMPLE), for the dataset's extent
    positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))

    def record(self) -> dict[str, Any]:
        """The manifest's ``shards`` entry."""
        return {
            "path": self.path, "events": self.events, "hits": self.hits,
            "particles": self.particles, "row_groups": self.row_groups,
            "bytes": self.bytes, "sha256": self.sha256,
        }


#: hit positions a shard keeps as a sample for the dataset's extent (quantiles)
POSITION_SAMPLE = 20_000


def _positions(chunk: pa.Table) -> np.ndarray:
    """(N, 3) float64 hit positions of a chunk, rows with a non-finite coordinate dropped."""
    cols = [np.asarray(chunk.column(c).combine_chunks().flatten().to_numpy(zero_copy_only=False), np.float64)
            for c in ("x", "y", "z")]
    pos = np.stack(cols, axis=1) if cols[0].size else np.zeros((0, 3))
    return pos[np.isfinite(pos).all(axis=1)]


def _hit_counts(table: pa.Table) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.list_value_length(table.column("x")).to_numpy(zero_copy_only=False).astype(np.int64)


def _group_ends(counts: np.ndarray, max_events: int, max_hits: int) -> list[int]:
    """Row-group end offsets: each group has <= max_events events and <= max_hits hits
    (a single event larger than max_hits forms its own group)."""
    cum = np.cumsum(counts)
    ends: list[int] = []
    start, n = 0, len(counts)
    while start < n:
        base = cum[start - 1] if start else 0
        by_hits = int(np.searchsorted(cum, base + max_hits, side="right"))
        end = max(start + 1, min(start + max_events, by_hits, n))
        ends.append(end)
        start = end
    return ends


class _ShardWriter:
    """Buffers validated chunks and writes row groups of bounded size."""

    def __init__(self, path: Path, max_events: int, max_hits: int) -> None:
        self.path = path
        self.max_events = max_events
        self.max_hits = max_hits
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.row_groups = 0

    def add(self, table: pa.Table) -> None:
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            if set(table.column_names) != set(self.schema.names):
                raise DataError(
                    f"a chunk has columns {sorted(table.column_names)} but earlier chunks had "
                    f"{sorted(self.schema.names)}; every event of a dataset needs the same columns"
                )
            table = table.select(self.schema.names).cast(self.schema)
        self.buffer.append(table)
        self.buffered += table.num_rows
        if self.buffered >= self.max_events:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self.buffer:
            return
        table = pa.concat_tables(self.buffer)
        self.buffer, self.buffered = [], 0
        ends = _group_ends(_hit_counts(table), self.max_events, self.max_hits)
        if not final:
            # Hold back the last (possibly partial) group; later chunks complete it.
            keep_from = ends[-2] if len(ends) > 1 else 0
            rest = table.slice(keep_from)
            ends = ends[:-1]
            self.buffer, self.buffered = [rest], rest.num_rows
        if self.writer is None and ends:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression=COMPRESSION,
                                           use_dictionary=False)
        start = 0
        for end in ends:
            self.writer.write_table(table.slice(start, end - start), row_group_size=end - start)
            self.row_groups += 1
            start = end

    def close(self) -> None:
        self._flush(final=True)
        if self.writer is not None:
            self.writer.close()


def write_shard(
    chunks: Iterable[pa.Table],
    path: str | Path,
    *,
    row_group_events: int = ROW_GROUP_EVENTS,
    row_group_hits: int = ROW_GROUP_HITS,
    progress: Callable[[int, int], None] | None = None,
) -> ShardSummary:
    """Validate and write the chunks of one shard task.

    Args:
        chunks: event chunks (``pyarrow.Table``, one row per event) from ``Source.read``.
        path: the ``shard-NNNNN.parquet`` file to write (not created if no event comes).
        row_group_events: at most this many events per row group.
        row_group_hits: at most this many hits per row group (events are never split).
        progress: called as ``progress(events, hits)`` after each chunk (increments).

    Returns:
        The shard summary (zero events -> no file written).

    Raises:
        DataError: a chunk breaks the schema (see :func:`hepgraph.events.validate_table`).
    """
    path = Path(path)
    w = _ShardWriter(path, row_group_events, row_group_hits)
    summary = ShardSummary(path=path.name)
    counts, eids = [], []
    labels: dict[str, list[np.ndarray]] = {}
    try:
        for chunk in chunks:
            summary.dropped_empty += int((chunk.schema.metadata or {}).get(DROPPED_KEY, 0))
            if chunk.num_rows == 0:
                continue
            chunk = validate_table(chunk)
            w.add(chunk)
            c = _hit_counts(chunk)
            counts.append(c)
            eids.append(chunk.column("event_id").to_numpy())
            for name in ("label", "semantic"):
                if name in chunk.column_names:
                    col = chunk.column(name)
                    if pa.types.is_list(col.type):
                        col = col.combine_chunks().flatten()
                    vals = np.asarray(col.to_numpy(zero_copy_only=False))
                    labels.setdefault(name, []).append(vals)
            summary.particles += _particles(chunk)
            pos = _positions(chunk)
            if len(pos):
                lo, hi = pos.min(axis=0), pos.max(axis=0)
                b = summary.bounds
                summary.bounds = (np.stack([lo, hi], 1) if b is None
                                  else np.stack([np.minimum(b[:, 0], lo), np.maximum(b[:, 1], hi)], 1))
                step = max(1, len(pos) // 2000)  # a bounded sample per chunk, thinned at the end
                summary.positions = np.concatenate([summary.positions, pos[::step].astype(np.float32)])
            if progress is not None:
                progress(chunk.num_rows, int(c.sum()))
        w.close()
    except BaseException:
        if w.writer is not None:
            w.writer.close()
        path.unlink(missing_ok=True)
        raise
    if not counts:
        return summary
    if len(summary.positions) > POSITION_SAMPLE:
        summary.positions = summary.positions[:: -(-len(summary.positions) // POSITION_SAMPLE)]
    summary.hit_counts = np.concatenate(counts)
    summary.event_ids = np.concatenate(eids)
    for k, v in labels.items():
        vals, cnt = np.unique(np.concatenate(v), return_counts=True)
        summary.labels[k] = {int(a): int(b) for a, b in zip(vals, cnt)}
    summary.events = int(len(summary.hit_counts))
    summary.hits = int(summary.hit_counts.sum())
    summary.row_groups = w.row_groups
    summary.schema = w.schema
    summary.bytes = path.stat().st_size
    summary.sha256 = sha256_file(path)
    return summary


def _particles(chunk: pa.Table) -> int:
    if "particle_id" not in chunk.column_names:
        return 0
    import pyarrow.compute as pc

    return int(pc.sum(pc.list_value_length(chunk.column("particle_id"))).as_py() or 0)
