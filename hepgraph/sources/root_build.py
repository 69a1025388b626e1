"""Turning arrays read by the ``root`` source into event chunks (jagged, flat, image layouts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError
from hepgraph.events.table import table_from_flat
from hepgraph.sources.root_mapping import EventSpec, Mapping


def _np(x: Any) -> np.ndarray:
    import awkward as ak

    return np.asarray(ak.to_numpy(x)) if isinstance(x, ak.Array) else np.asarray(x)


def _ndim(x: Any) -> int:
    import awkward as ak

    return x.ndim if isinstance(x, ak.Array) else np.ndim(x)


def _reduce(arr: Any, how: str, default: Any) -> np.ndarray:
    import awkward as ak

    if how == "count":
        return _np(ak.num(arr, axis=1))
    if how == "first":
        out = ak.firsts(arr, axis=1)
    else:
        out = getattr(ak, how)(arr, axis=1)
    fill = np.nan if default is None else default
    return _np(ak.fill_none(out, fill))


def _map_values(values: np.ndarray, spec: EventSpec, name: str) -> np.ndarray:
    table = {(int(k) if isinstance(k, (int, float)) or str(k).lstrip("-").isdigit() else k): int(v)
             for k, v in spec.map.items()}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values.tolist()):
        key = int(v) if isinstance(v, float) and v == int(v) else v
        if key in table:
            out[i] = table[key]
        elif spec.default is not None:
            out[i] = spec.default
        else:
            raise DataError(f"event column `{name}`: value `{v}` of `{spec.expr}` is not in its map "
                            f"{sorted(table)}; add it to the mapping (event.{name}.map) or set a default")
    return out


def event_columns(m: Mapping, arrays: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """Event scalars (reduced and mapped) for ``n`` events."""
    out: dict[str, np.ndarray] = {}
    for name, spec in m.event.items():
        arr = arrays[f"event:{name}"]
        if _ndim(arr) > 1:
            if spec.reduce is None:
                raise DataError(f"event column `{name}` from `{spec.expr}` holds a list per event; add "
                                f"`reduce: first` (or sum, count, max, min, mean) in the mapping")
            vals = _reduce(arr, spec.reduce, spec.default)
        else:
            vals = _np(arr)
        if spec.map is not None:
            vals = _map_values(vals, spec, name)
        out[name] = vals * m.scale[name] if name in m.scale else vals
    return out


def _join(m: Mapping, join: dict[str, np.ndarray], raw_ids: np.ndarray) -> dict[str, np.ndarray]:
    keys = join["__on__"]
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys, raw_ids, sorter=order)
    idx = order[np.minimum(pos, max(len(keys) - 1, 0))]
    ok = (len(keys) > 0) & (keys[idx] == raw_ids) if len(keys) else np.zeros(len(raw_ids), bool)
    if not np.all(ok):
        bad = raw_ids[~ok][0]
        raise DataError(f"event {bad} has no row in join tree `{m.join['tree']}` (on `{m.join['key']}`)")
    return {k: (v[idx] * m.scale[k] if k in m.scale else v[idx]) for k, v in join.items() if k != "__on__"}


def _image_hits(m: Mapping, arrays: dict[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Non-zero pixels of 2D images as hits: x, y (meta corners), z = 0, charge, pad_row/col, module."""
    import awkward as ak

    im = m.image
    img = arrays["image:branch"]
    nev = len(img)
    projections = im.get("projections") or [0]
    thr = float(im.get("threshold", 0.0))
    ev_l, proj_l, row_l, col_l, val_l, x_l, y_l = [], [], [], [], [], [], []
    for p in projections:
        if nev == 0:
            break
        nimg = _np(ak.num(img, axis=1))
        if (nimg <= p).any():
            raise DataError(f"image projection {p} requested but an event has only {nimg.min()} image(s)")
        pix = _np(ak.to_regular(img[:, p], axis=1))  # (B, rows*cols)
        rows = _np(arrays["image:rows"][:, p]).astype(np.int64)
        cols = _np(arrays["image:cols"][:, p]).astype(np.int64)
        e, k = np.nonzero(pix > thr)
        if im.get("column_major", True):  # larcv2 Image2D: index = col * rows + row
            r, c = k % rows[e], k // rows[e]
        else:
            r, c = k // cols[e], k % cols[e]
        ev_l.append(e), proj_l.append(np.full(len(e), p)), row_l.append(r), col_l.append(c)
        val_l.append(pix[e, k])
        corners = {}
        for key in ("p1x", "p1y", "p2x", "p2y"):
            corners[key] = _np(arrays[f"image:{key}"][:, p]).astype(np.float64) if f"image:{key}" in arrays else None
        if corners["p1x"] is not None and corners["p2x"] is not None:
            x = corners["p1x"][e] + (c + 0.5) * (corners["p2x"][e] - corners["p1x"][e]) / cols[e]
            y = corners["p1y"][e] + (r + 0.5) * (corners["p2y"][e] - corners["p1y"][e]) / rows[e]
        else:
            x, y = c + 0.5, r + 0.5
        x_l.append(x), y_l.append(y)
    if not ev_l:
        return np.zeros(nev, np.int64), {k: np.zeros(0) for k in ("x", "y", "z", "charge")}
    ev = np.concatenate(ev_l)
    order = np.argsort(ev, kind="stable")  # by event, projections in order within an event
    cols_out = {
        "x": np.concatenate(x_l)[order], "y": np.concatenate(y_l)[order], "z": np.zeros(len(ev)),
        "charge": np.concatenate(val_l)[order], "pad_row": np.concatenate(row_l)[order].astype(np.int32),
        "pad_col": np.concatenate(col_l)[order].astype(np.int32),
        "module": np.concatenate(proj_l)[order].astype(np.int32),
    }
    return np.bincount(ev, minlength=nev), cols_out


def _lists(m: Mapping, arrays: dict[str, Any], kind: str, spec: dict[str, Any]) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    import awkward as ak

    counts, out, consts = None, {}, {}
    for name, expr in spec.items():
        if not isinstance(expr, str):
            consts[name] = expr
            continue
        arr = arrays[f"{kind}:{name}"]
        if _ndim(arr) < 2:
            raise DataError(f"{kind} column `{name}` from `{expr}` holds one value per entry; {kind} branches "
                            "must be lists per event (or use `layout: flat` for one-hit-per-entry trees)")
        c = _np(ak.num(arr, axis=1))
        if counts is None:
            counts = c
        elif not np.array_equal(c, counts):
            i = int(np.flatnonzero(c != counts)[0])
            raise DataError(f"{kind} column `{name}` (`{expr}`) has {c[i]} entries in event {i} of the chunk but "
                            f"the other {kind} columns have {counts[i]}")
        out[name] = _np(ak.flatten(arr, axis=1))
    if counts is not None:
        for name, v in consts.items():
            out[name] = np.full(int(counts.sum()), v)
    elif consts:
        raise DataError(f"{kind} columns are all constants; map at least one branch")
    return counts, out


def _scale(m: Mapping, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: (v * m.scale[k] if k in m.scale else v) for k, v in cols.items()}


def build_chunk(m: Mapping, arrays: dict[str, Any], entries: np.ndarray, offset: int,
                join: dict[str, np.ndarray] | None) -> pa.Table | None:
    """A chunk from jagged arrays of consecutive entries (after the selection)."""
    if "selection" in arrays:
        mask = _np(arrays["selection"]).astype(bool)
        arrays = {k: v[mask] for k, v in arrays.items() if k != "selection"}
        entries = entries[mask]
    n = len(entries)
    if n == 0:
        return None
    if m.image:
        hcounts, hits = _image_hits(m, arrays)
        extra_counts, extra = _lists(m, arrays, "hit", m.hits) if m.hits else (None, {})
        if extra_counts is not None and not np.array_equal(extra_counts, hcounts):
            raise DataError("image hits and mapped hit branches disagree on hits per event")
        hits.update(extra)
    else:
        hcounts, hits = _lists(m, arrays, "hit", m.hits)
    pcounts, parts = _lists(m, arrays, "particle", m.particles)
    raw_ids = _np(arrays["event_id"]).astype(np.int64) if m.event_id else entries
    events = {"event_id": raw_ids + offset, **event_columns(m, arrays, n)}
    if join is not None:
        events.update(_join(m, join, raw_ids))
    return table_from_flat(hcounts, _scale(m, hits), events, pcounts, _scale(m, parts) if parts else None)


def group_flat(src: Any, trees: dict[str, Any], where: dict[str, str], start: int, stop: int,
               offset: int, join: dict[str, np.ndarray] | None, path: str) -> Iterator[pa.Table]:
    """Chunks of a flat hit tree (one entry per hit) grouped by the ``group_by`` value.

    An event cut by a step boundary is carried over to the next step.
    """
    m: Mapping = src.mapping
    carry: dict[str, np.ndarray] | None = None
    for a in range(start, stop, m.step_size):
        b = min(a + m.step_size, stop)
        arrays = {k: _np(v) for k, v in src._read_range(trees, where, a, b, path).items()}
        if "selection" in arrays:
            mask = arrays.pop("selection").astype(bool)
            arrays = {k: v[mask] for k, v in arrays.items()}
        if carry is not None:
            arrays = {k: np.concatenate([carry[k], v]) for k, v in arrays.items()}
            carry = None
        g = arrays["group_by"].astype(np.int64)
        if b < stop and len(g):
            tail = g == g[-1]
            first = int(np.flatnonzero(~tail)[-1] + 1) if (~tail).any() else 0
            carry = {k: v[first:] for k, v in arrays.items()}
            arrays = {k: v[:first] for k, v in arrays.items()}
            g = g[:first]
        if len(g) == 0:
            continue
        yield _flat_table(m, arrays, g, offset, join)
    if carry is not None and len(carry["group_by"]):
        yield _flat_table(m, carry, carry["group_by"].astype(np.int64), offset, join)


def _flat_table(m: Mapping, arrays: dict[str, np.ndarray], g: np.ndarray, offset: int,
                join: dict[str, np.ndarray] | None) -> pa.Table:
    starts = np.concatenate([[0], np.flatnonzero(np.diff(g)) + 1])
    counts = np.diff(np.concatenate([starts, [len(g)]]))
    hits = {}
    for name, expr in m.hits.items():
        hits[name] = arrays[f"hit:{name}"] if isinstance(expr, str) else np.full(len(g), expr)
    raw_ids = arrays["event_id"][starts].astype(np.int64) if m.event_id else g[starts]
    events: dict[str, np.ndarray] = {"event_id": raw_ids + offset}
    for name, spec in m.event.items():
        vals = arrays[f"event:{name}"][starts]
        if spec.map is not None:
            vals = _map_values(vals, spec, name)
        events[name] = vals * m.scale[name] if name in m.scale else vals
    if join is not None:
        events.update(_join(m, join, raw_ids))
    return table_from_flat(counts, _scale(m, hits), events)
