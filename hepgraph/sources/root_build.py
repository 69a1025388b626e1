"""Reading ROOT branches for the ``root`` source.

The branch catalog, bounded reads, larcv images as hits, the per-event join tree and flat
(one-hit-per-entry) trees.

Branches are read one by one by name (``tree[path].array(...)``), never through uproot's
expression language, so full paths with slashes and dots (``Evt/hits/hits.t``) work as
they are; the mapping's expressions are evaluated by :mod:`hepgraph.sources.expr`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError
from hepgraph.sources.assemble import Compiled, assemble
from hepgraph.sources.channels import ChannelTable
from hepgraph.sources.expr import compile_expr, evaluate
from hepgraph.sources.mapping import Mapping

#: name -> (tree name, full branch path)
Catalog = dict[str, tuple[str, str]]


def short_error(err: BaseException) -> str:
    """``Type: first line`` of an exception, for one-line messages."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def catalog(trees: dict[str, Any]) -> Catalog:
    """Every branch of ``trees`` by name: full path, path without base-class levels, sub-paths.

    Base-class levels (``ns::Class``) are dropped as uproot also accepts; every trailing
    sub-path (down to the short name) is a name too. The first tree, and the first branch,
    win a name.
    """
    out: Catalog = {}
    for tname, tree in trees.items():
        paths = list(tree.keys(recursive=True))
        for full in paths:
            out.setdefault(full, (tname, full))
        for full in paths:
            parts = [p for p in full.split("/") if "::" not in p]
            for k in range(len(parts)):
                out.setdefault("/".join(parts[k:]), (tname, full))
    return out


def read_branches(trees: dict[str, Any], cat: Catalog, names: list[str], a: int, b: int, path: str) -> dict[str, Any]:
    """Entries ``[a, b)`` of the named branches as awkward arrays, keyed by the given names.

    Raises:
        DataError: uproot cannot read a branch (truncated file, unsupported type).
    """
    out: dict[str, Any] = {}
    for name in names:
        tname, full = cat[name]
        try:
            out[name] = trees[tname][full].array(entry_start=a, entry_stop=b, library="ak")
        except Exception as err:
            raise DataError(f"reading branch `{full}` (entries {a}-{b}) of `{path}` failed ({short_error(err)}); "
                            "is the file truncated, or is the branch of a type uproot cannot read? "
                            "map its leaf branches instead") from None
    return out


def _np(x: Any) -> np.ndarray:
    import awkward as ak

    return np.asarray(ak.to_numpy(x)) if isinstance(x, ak.Array) else np.asarray(x)


def image_hits(m: Mapping, arrays: dict[str, Any]) -> dict[str, Any]:
    """Pixels above threshold of 2D images as hit lists.

    Columns: x, y (from the meta corners), z = 0, charge, pad_row/pad_col, module (the
    projection).
    """
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
        corner = {key: _np(arrays[f"image:{key}"][:, p]).astype(np.float64) if f"image:{key}" in arrays else None
                  for key in ("p1x", "p1y", "p2x", "p2y")}
        if corner["p1x"] is not None and corner["p2x"] is not None:
            x = corner["p1x"][e] + (c + 0.5) * (corner["p2x"][e] - corner["p1x"][e]) / cols[e]
            y = corner["p1y"][e] + (r + 0.5) * (corner["p2y"][e] - corner["p1y"][e]) / rows[e]
        else:
            x, y = c + 0.5, r + 0.5
        x_l.append(x), y_l.append(y)
    if not ev_l:
        counts = np.zeros(nev, np.int64)
        return {k: ak.unflatten(np.zeros(0), counts) for k in ("x", "y", "z", "charge")}
    ev = np.concatenate(ev_l)
    order = np.argsort(ev, kind="stable")  # by event, projections in order within an event
    flat = {
        "x": np.concatenate(x_l)[order], "y": np.concatenate(y_l)[order], "z": np.zeros(len(ev)),
        "charge": np.concatenate(val_l)[order], "pad_row": np.concatenate(row_l)[order].astype(np.int32),
        "pad_col": np.concatenate(col_l)[order].astype(np.int32),
        "module": np.concatenate(proj_l)[order].astype(np.int32),
    }
    counts = np.bincount(ev, minlength=nev)
    return {k: ak.unflatten(v, counts) for k, v in flat.items()}


def read_join(m: Mapping, tree: Any, path: str) -> dict[str, np.ndarray]:
    """The per-event join tree of a file: the key (``__on__``) and the event columns (numpy).

    Raises:
        DataError: a key or column expression names no branch of the join tree.
    """
    j = m.join
    cat = catalog({j["tree"]: tree})
    where = f"join ({path})"
    exprs = {k: compile_expr(e, cat, f"mapping {where} event.{k}") for k, e in j["event"].items()}
    exprs["__on__"] = compile_expr(j["key"], cat, f"mapping {where} key")
    names = list(dict.fromkeys(n for e in exprs.values() for n in e.names))
    got = read_branches({j["tree"]: tree}, cat, names, 0, int(tree.num_entries), path)
    out = {k: _np(evaluate(e, got)) for k, e in exprs.items()}
    out["__on__"] = out["__on__"].astype(np.int64)
    return out


def join_columns(m: Mapping, join: dict[str, np.ndarray], raw_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Event columns of the join tree for the raw event ids (scaled).

    Raises:
        DataError: an event has no row in the join tree.
    """
    keys = join["__on__"]
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys, raw_ids, sorter=order)
    idx = order[np.minimum(pos, max(len(keys) - 1, 0))]
    ok = (keys[idx] == raw_ids) if len(keys) else np.zeros(len(raw_ids), bool)
    if not np.all(ok):
        bad = raw_ids[~ok][0]
        raise DataError(f"event {bad} has no row in join tree `{m.join['tree']}` (on `{m.join['key']}`)")
    return {k: (v[idx] * m.scale[k] if k in m.scale else v[idx]) for k, v in join.items() if k != "__on__"}


def group_flat(m: Mapping, comp: Compiled, read: Any, start: int, stop: int, offset: int,
               join: Any, geometry: ChannelTable | None) -> Iterator[pa.Table]:
    """Chunks of a flat hit tree (one entry per hit) grouped by the ``group_by`` value.

    Args:
        m: the mapping.
        comp: its compiled expressions.
        read: ``read(a, b) -> {name: array}`` for entries ``[a, b)`` of the needed branches.
        start: first entry (a group boundary).
        stop: end entry (a group boundary).
        offset: added to the event ids.
        join: raw event ids -> join columns, or None.
        geometry: the channel table, or None.

    An event cut by a step boundary is carried over to the next step.
    """
    import awkward as ak

    carry: dict[str, np.ndarray] | None = None

    def chunk(arrays: dict[str, np.ndarray]) -> pa.Table | None:
        g = _np(evaluate(comp.exprs["group_by"], arrays)).astype(np.int64)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(g)) + 1])
        counts = np.diff(np.concatenate([starts, [len(g)]]))
        got = {k: ak.unflatten(v, counts) for k, v in arrays.items()}
        return assemble(m, comp, got, g[starts], offset=offset, flat=True, geometry=geometry, join=join)

    for a in range(start, stop, m.step_size):
        b = min(a + m.step_size, stop)
        arrays = {k: _np(v) for k, v in read(a, b).items()}
        if "selection" in comp.exprs:
            mask = np.broadcast_to(_np(evaluate(comp.exprs["selection"], arrays)).astype(bool), (b - a,))
            arrays = {k: v[mask] for k, v in arrays.items()}
        if carry is not None:
            arrays = {k: np.concatenate([carry[k], v]) for k, v in arrays.items()}
            carry = None
        n = len(next(iter(arrays.values()))) if arrays else 0
        if b < stop and n:
            g = _np(evaluate(comp.exprs["group_by"], arrays)).astype(np.int64)
            tail = g == g[-1]
            first = int(np.flatnonzero(~tail)[-1] + 1) if (~tail).any() else 0
            carry = {k: v[first:] for k, v in arrays.items()}
            arrays = {k: v[:first] for k, v in arrays.items()}
            n = first
        if n == 0:
            continue
        table = chunk(arrays)
        if table is not None:
            yield table
    if carry is not None and len(next(iter(carry.values()), [])):
        table = chunk(carry)
        if table is not None:
            yield table
