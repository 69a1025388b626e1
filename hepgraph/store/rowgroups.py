"""Decoded row groups and flat batches: the in-memory form of stored events.

A :class:`RowGroup` holds one Parquet row group as flat numpy arrays plus offsets, so one
event is a set of slices; a :class:`FlatBatch` is several events gathered from row groups
into flat arrays in one vectorised pass per column (what the loader ships to the model).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.events.schema import kind_of


class RowGroup:
    """One decoded row group: per-kind shared offsets and flat values."""

    __slots__ = ("hit_off", "hits", "part_off", "parts", "scalars", "hit_off_np", "part_off_np")

    def __init__(self, table: pa.Table) -> None:
        self.hits: list[tuple[str, np.ndarray]] = []
        self.parts: list[tuple[str, np.ndarray]] = []
        self.scalars: list[tuple[str, np.ndarray]] = []
        self.hit_off: list[int] = []
        self.part_off: list[int] = []
        for name in table.column_names:
            col = table.column(name).combine_chunks()
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                off = col.offsets.to_numpy()
                values = col.values.to_numpy(zero_copy_only=False)
                if off[0] != 0:  # a sliced array: values start at off[0]
                    values, off = values[off[0] : off[-1]], off - off[0]
                if kind_of(name) == "particle":
                    self.parts.append((name, values))
                    if not self.part_off:
                        self.part_off = off.tolist()
                else:
                    self.hits.append((name, values))
                    if not self.hit_off:
                        self.hit_off = off.tolist()
            else:
                self.scalars.append((name, col.to_numpy(zero_copy_only=False)))
        self.hit_off_np = np.asarray(self.hit_off, dtype=np.int64)
        self.part_off_np = np.asarray(self.part_off, dtype=np.int64)

    def event(self, j: int) -> dict[str, Any]:
        a, b = self.hit_off[j], self.hit_off[j + 1]
        ev: dict[str, Any] = {name: v[j] for name, v in self.scalars}
        for name, v in self.hits:
            ev[name] = v[a:b]
        if self.parts:
            a, b = self.part_off[j], self.part_off[j + 1]
            for name, v in self.parts:
                ev[name] = v[a:b]
        return ev

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for _, v in self.hits + self.parts + self.scalars)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each (s, c), vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (np.cumsum(counts) - counts)
    return np.repeat(shift, counts) + np.arange(total)


class FlatBatch:
    """Several events as flat arrays: ``counts``/``pcounts`` per event plus column values.

    Attributes:
        counts: (B,) hits per event.
        hits: hit columns, each (sum(counts),), rows ordered by event.
        events: event columns, each (B,).
        pcounts: (B,) particles per event, or None.
        particles: particle columns, each (sum(pcounts),).
    """

    __slots__ = ("counts", "hits", "events", "pcounts", "particles")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FlatBatch, (self.counts, self.hits, self.events, self.pcounts, self.particles))

    def __init__(self, counts: np.ndarray, hits: dict[str, np.ndarray],
                 events: dict[str, np.ndarray], pcounts: np.ndarray | None,
                 particles: dict[str, np.ndarray]) -> None:
        self.counts, self.hits, self.events = counts, hits, events
        self.pcounts, self.particles = pcounts, particles

    @classmethod
    def gather(cls, decoded: dict[int, RowGroup], groups: dict[int, np.ndarray], local: np.ndarray,
               b: int) -> FlatBatch:
        first = next(iter(decoded.values()))
        counts = np.zeros(b, dtype=np.int64)
        pcounts = np.zeros(b, dtype=np.int64) if first.parts else None
        for r, pos in groups.items():
            rg, j = decoded[r], local[pos]
            counts[pos] = rg.hit_off_np[j + 1] - rg.hit_off_np[j]
            if pcounts is not None:
                pcounts[pos] = rg.part_off_np[j + 1] - rg.part_off_np[j]
        ptr = np.concatenate([[0], np.cumsum(counts)])
        hits = {name: np.empty(int(ptr[-1]), dtype=v.dtype) for name, v in first.hits}
        events = {name: np.empty(b, dtype=v.dtype) for name, v in first.scalars}
        parts: dict[str, np.ndarray] = {}
        if pcounts is not None:
            pptr = np.concatenate([[0], np.cumsum(pcounts)])
            parts = {name: np.empty(int(pptr[-1]), dtype=v.dtype) for name, v in first.parts}
        for r, pos in groups.items():
            rg, j = decoded[r], local[pos]
            _copy_lists(rg.hits, rg.hit_off_np[j], hits, ptr, counts, pos)
            for name, v in rg.scalars:
                events[name][pos] = v[j]
            if pcounts is not None:
                _copy_lists(rg.parts, rg.part_off_np[j], parts, pptr, pcounts, pos)
        return cls(counts, hits, events, pcounts, parts)


def _copy_lists(columns: Any, starts: np.ndarray, out: dict[str, np.ndarray], ptr: np.ndarray,
                counts: np.ndarray, pos: np.ndarray) -> None:
    """Copy the list entries of one row group's events into the batch's flat arrays.

    Args:
        columns: ``(name, flat values)`` pairs of the row group.
        starts: (M,) offset of each selected event's first entry in the row group.
        out: the batch's flat arrays by name (filled in place).
        ptr: (B + 1,) offsets of the batch's events in ``out``.
        counts: (B,) entries per batch event.
        pos: (M,) positions of the selected events in the batch.
    """
    src = _ranges(starts, counts[pos])
    if len(pos) > 0 and pos[-1] - pos[0] == len(pos) - 1:     # sorted batch: one slice
        lo, hi = int(ptr[pos[0]]), int(ptr[pos[-1] + 1])
        for name, v in columns:
            np.take(v, src, out=out[name][lo:hi])
    else:
        dst = _ranges(ptr[pos], counts[pos])
        for name, v in columns:
            out[name][dst] = v[src]
