"""Validation of event chunks against the schema (vectorised; no per-hit Python loops).

:func:`validate_table` casts every column to its schema dtype and rejects, with a
:class:`~hepgraph.errors.DataError` naming the event and the field:

- missing required columns (``event_id``, ``x``, ``y``, ``z``);
- hit columns of different lengths within an event (likewise particle columns);
- NaN or infinite coordinates, times or charges;
- ``track_id`` values pointing at no particle of the event (``-1`` = noise is allowed);
- values that cannot be cast safely (strings, fractional ids, overflowing integers, floats
  beyond the float32 range);
- duplicate ``event_id`` within a chunk.

A source may choose another dtype for a column (for example ``float64`` for an extra
column holding absolute times) with :func:`hepgraph.events.schema.mark_dtypes`. A float64
column cast to float32 whose values reach 2**24 (where float32 steps exceed 1) is logged
once as a warning naming the column, since that loses absolute precision.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hepgraph.errors import DataError
from hepgraph.events.schema import FINITE_HIT_COLUMNS, REQUIRED, kind_of, marked_dtypes
from hepgraph.events.table import target_type

log = logging.getLogger(__name__)
_WARNED: set[str] = set()

#: |value| from which float32 cannot hold every integer (its step becomes >= 1).
FLOAT32_EXACT = float(2**24)
#: The largest finite float32: a float64 value above it would be stored as infinity.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_precision(name: str, col: pa.ChunkedArray, target: pa.DataType) -> None:
    inner = col.type.value_type if pa.types.is_list(col.type) else col.type
    tinner = target.value_type if pa.types.is_list(target) else target
    if not (pa.types.is_float64(inner) and pa.types.is_float32(tinner)):
        return
    vals = pc.list_flatten(col) if pa.types.is_list(col.type) else col
    finite = pc.filter(vals, pc.is_finite(vals)) if len(vals) else vals
    big = pc.max(pc.abs(finite)).as_py() if len(finite) else None  # NaN/inf are refused later, by event
    if big is not None and big > FLOAT32_MAX:
        raise DataError(f"column `{name}` holds {big:.6g}, beyond the float32 range (about 3.4e38) it is stored "
                        "in; check the units of the input and the mapping's `scale`, or keep the column as "
                        f"float64 (root/hdf5 mapping: `dtypes: {{{name}: float64}}`)")
    if big is not None and big >= FLOAT32_EXACT and name not in _WARNED:
        _WARNED.add(name)
        log.warning("column `%s` holds values up to %.6g, stored as float32 (step %.3g there); keep full "
                    "precision with `dtypes: {%s: float64}` in the mapping", name, big,
                    float(np.spacing(np.float32(big))), name)


def _where(table: pa.Table, row: int) -> str:
    eid = table.column("event_id")[row].as_py() if "event_id" in table.column_names else "?"
    return f"event {row} (event_id={eid})"


def _lengths(col: pa.ChunkedArray) -> np.ndarray:
    return pc.list_value_length(col).to_numpy(zero_copy_only=False).astype(np.int64)


def validate_table(table: pa.Table) -> pa.Table:
    """Check a chunk and cast it to the schema dtypes.

    Args:
        table: one row per event; hit and particle columns are lists.

    Returns:
        The table with every column cast to its schema type.

    Raises:
        DataError: the chunk breaks the schema (message names event and field).
    """
    if table.num_rows == 0:
        raise DataError("zero events selected: the source produced an empty chunk")
    for name in REQUIRED:
        if name not in table.column_names:
            raise DataError(
                f"required column `{name}` is missing (have: {', '.join(table.column_names)}); "
                "map it in the source mapping"
            )
    cast_cols = []
    marks = marked_dtypes(table)
    for name in table.column_names:
        col = table.column(name)
        is_list = pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
        kind = kind_of(name)
        if kind == "event" and is_list:
            raise DataError(f"column `{name}` is an event scalar but holds a list per event")
        if kind != "event" and not is_list:
            raise DataError(f"column `{name}` is a {kind} column but holds one value per event")
        target = target_type(name, col.type)
        if name in marks:
            dt = pa.from_numpy_dtype(np.dtype(marks[name]))
            target = pa.list_(dt) if kind != "event" else dt
        else:
            _check_precision(name, col, target)
        try:
            col = pc.cast(col, target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DataError(
                f"column `{name}` cannot be stored as {target}: {str(err).splitlines()[0]}"
            ) from None
        cast_cols.append(col)
    table = pa.table(dict(zip(table.column_names, cast_cols)))

    for kind in ("hit", "particle"):
        names = [n for n in table.column_names if kind_of(n) == kind]
        if not names:
            continue
        ref = _lengths(table.column(names[0]))
        for name in names[1:]:
            bad = np.nonzero(_lengths(table.column(name)) != ref)[0]
            if bad.size:
                r = int(bad[0])
                raise DataError(
                    f"{_where(table, r)}: {kind} column `{name}` has "
                    f"{_lengths(table.column(name))[r]} entries but `{names[0]}` has {ref[r]}"
                )

    for name in FINITE_HIT_COLUMNS:
        if name not in table.column_names:
            continue
        col = table.column(name).combine_chunks()
        flat = col.flatten().to_numpy(zero_copy_only=False)
        bad = np.nonzero(~np.isfinite(flat))[0]
        if bad.size:
            row = int(np.searchsorted(col.offsets.to_numpy()[1:], bad[0], side="right"))
            raise DataError(
                f"{_where(table, row)}: `{name}` has a NaN or infinite value "
                f"(hit {bad[0] - col.offsets.to_numpy()[row]}); drop or fix those hits"
            )

    eids = table.column("event_id").to_numpy()
    uniq, counts = np.unique(eids, return_counts=True)
    if (counts > 1).any():
        raise DataError(f"event_id {uniq[counts > 1][0]} appears more than once in one chunk")

    if "track_id" in table.column_names and "particle_id" in table.column_names:
        _check_track_ids(table)
    return table


def _check_track_ids(table: pa.Table) -> None:
    """Every ``track_id`` != -1 must be a ``particle_id`` of the same event."""
    tcol = table.column("track_id").combine_chunks()
    pcol = table.column("particle_id").combine_chunks()
    tid = tcol.flatten().to_numpy()
    pid = pcol.flatten().to_numpy()
    trow = np.repeat(np.arange(table.num_rows), np.diff(tcol.offsets.to_numpy()))
    prow = np.repeat(np.arange(table.num_rows), np.diff(pcol.offsets.to_numpy()))
    keep = tid != -1
    tid, trow = tid[keep], trow[keep]
    if tid.size == 0:
        return
    # Compact the ids to ranks among the particle ids, then look (row, rank) keys up in the
    # sorted particle keys: two searchsorted calls over all hits.
    uniq = np.unique(pid)
    if uniq.size == 0:
        found = np.zeros(tid.size, dtype=bool)
    else:
        rank = np.minimum(np.searchsorted(uniq, tid), uniq.size - 1)
        known = uniq[rank] == tid
        pkey = np.sort(prow * uniq.size + np.searchsorted(uniq, pid))
        tkey = trow * uniq.size + rank
        at = np.minimum(np.searchsorted(pkey, tkey), pkey.size - 1)
        found = known & (pkey[at] == tkey)
    if not found.all():
        j = int(np.nonzero(~found)[0][0])
        raise DataError(
            f"{_where(table, int(trow[j]))}: track_id {tid[j]} points at no particle_id of the "
            "event; use -1 for noise hits or add the particle"
        )
