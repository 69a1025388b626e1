"""Chunks of events as ``pyarrow.Table`` (one row per event, hit/particle lists as list columns).

A chunk is what sources yield and what the store writes. Two constructors:

- :func:`table_from_events` from a list of per-event dicts (readers);
- :func:`table_from_flat` from flat hit/particle arrays plus per-event counts (vectorised
  simulators, no per-event Python work).

Events in Python are plain dicts ``{column: np.ndarray | scalar}``; see :data:`Event`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError
from hepgraph.events.schema import dtype_of, kind_of

#: One event: hit and particle columns as 1-D arrays, event columns as scalars.
Event = dict[str, Union[np.ndarray, int, float]]


def _list_array(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))


def table_from_flat(
    hit_counts: np.ndarray,
    hits: Mapping[str, np.ndarray],
    events: Mapping[str, np.ndarray],
    particle_counts: np.ndarray | None = None,
    particles: Mapping[str, np.ndarray] | None = None,
) -> pa.Table:
    """Build a chunk from flat arrays.

    Args:
        hit_counts: (B,) number of hits per event.
        hits: hit columns, each (sum(hit_counts),), rows ordered by event.
        events: event columns, each (B,); must include ``event_id``.
        particle_counts: (B,) number of particles per event, when ``particles`` is given.
        particles: particle columns, each (sum(particle_counts),).

    Returns:
        A table with one row per event; dtypes are cast to the schema later by validation.
    """
    hit_counts = np.asarray(hit_counts, dtype=np.int64)
    hoff = np.concatenate([[0], np.cumsum(hit_counts)])
    cols: dict[str, pa.Array] = {}
    for name, values in events.items():
        cols[name] = pa.array(np.asarray(values))
    for name, values in hits.items():
        cols[name] = _list_array(hoff, np.asarray(values))
    if particles:
        if particle_counts is None:
            raise ValueError("particle_counts is required with particles")
        poff = np.concatenate([[0], np.cumsum(np.asarray(particle_counts, dtype=np.int64))])
        for name, values in particles.items():
            cols[name] = _list_array(poff, np.asarray(values))
    return pa.table(cols)


def table_from_events(events: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Build a chunk from per-event dicts (all events must have the same keys).

    Raises:
        DataError: events disagree on their columns.
    """
    if not events:
        raise DataError("no events to write (zero events selected)")
    keys = list(events[0].keys())
    for i, ev in enumerate(events):
        if list(ev.keys()) != keys and set(ev.keys()) != set(keys):
            raise DataError(
                f"event {i} has columns {sorted(ev)} but event 0 has {sorted(keys)}"
            )
    cols: dict[str, pa.Array] = {}
    for name in keys:
        if kind_of(name) == "event":
            cols[name] = pa.array(np.asarray([ev[name] for ev in events]))
        else:
            parts = [np.asarray(ev[name]).reshape(-1) for ev in events]
            counts = np.array([len(p) for p in parts], dtype=np.int64)
            off = np.concatenate([[0], np.cumsum(counts)])
            flat = np.concatenate(parts) if parts else np.zeros(0)
            cols[name] = _list_array(off, flat)
    return pa.table(cols)


def table_to_events(table: pa.Table) -> list[Event]:
    """Split a chunk back into per-event dicts with numpy arrays (schema dtypes kept)."""
    out: list[Event] = [{} for _ in range(table.num_rows)]
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            off = col.offsets.to_numpy()
            flat = col.flatten().to_numpy(zero_copy_only=False)
            for i in range(table.num_rows):
                out[i][name] = flat[off[i] : off[i + 1]]
        else:
            vals = col.to_numpy(zero_copy_only=False)
            for i in range(table.num_rows):
                out[i][name] = vals[i].item() if hasattr(vals[i], "item") else vals[i]
    return out


def target_type(name: str, current: pa.DataType) -> pa.DataType:
    """Arrow type a column is stored as (schema dtype, lists for hit/particle columns)."""
    inner = current.value_type if pa.types.is_list(current) or pa.types.is_large_list(current) else current
    np_inner = np.dtype(inner.to_pandas_dtype()) if not pa.types.is_string(inner) else None
    dt = pa.from_numpy_dtype(dtype_of(name, np.zeros(0, dtype=np_inner) if np_inner is not None else None))
    return pa.list_(dt) if kind_of(name) != "event" else dt
