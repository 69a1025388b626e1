"""From per-entry file columns to a chunk of events, the same way for ROOT and HDF5.

A reader hands :func:`assemble` the arrays of a range of entries (one entry = one event;
awkward arrays, lists per event) keyed by the names its mapping's expressions read. The
steps, in order:

1. ``selection``: entry-level cut (one value per entry);
2. hit columns: each expression evaluated; lists of lists (hits per track per event,
   ``vector<vector<...>>``) are flattened to one hit list per event and the outer index is
   added as ``nested_index`` (``hit_group`` by default); per-group values (one per inner
   list) and per-entry values are broadcast to the hits;
3. ``geometry``: per-channel columns joined on a hit id column;
4. ``scale``, then ``select.hits`` (names: hit columns, else file columns);
5. particle lists and event scalars (``reduce``, ``map``), then ``select.events`` (names:
   event columns, ``n_hits``, ``n_particles``, else per-entry file columns).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingT
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError
from hepgraph.events.schema import mark_dtypes
from hepgraph.events.table import table_from_flat
from hepgraph.sources.channels import ChannelTable
from hepgraph.sources.expr import Expression, compile_expr, evaluate
from hepgraph.sources.mapping import EVENT_COUNTS, EventSpec, Mapping


@dataclass
class Compiled:
    """A mapping's expressions parsed against one file's names."""

    exprs: dict[str, Expression]
    select_hits: Expression | None
    select_events: Expression | None

    def file_names(self) -> list[str]:
        """Every file column any expression reads (select names of columns excluded)."""
        names: list[str] = []
        for e in self.exprs.values():
            names += e.names
        for e, own in ((self.select_hits, self.hit_cols), (self.select_events, self.event_cols)):
            if e is not None:
                names += [n for n in e.names if n not in own]
        return list(dict.fromkeys(names))

    hit_cols: tuple[str, ...] = ()
    event_cols: tuple[str, ...] = ()


def compile_mapping(m: Mapping, known: Iterable[str], where: str) -> Compiled:
    """Parse every expression of ``m`` against the file names ``known``.

    Raises:
        ConfigError: a bad expression or an unknown name (with close matches).
    """
    known = list(known)
    exprs = {k: compile_expr(e, known, f"mapping {k.replace(':', '.')} ({where})") for k, e in m.expressions().items()}
    hit_cols = tuple(m.hit_columns()) + (m.nested_index,)
    event_cols = tuple(m.event) + tuple((m.join or {}).get("event", {})) + ("event_id",) + EVENT_COUNTS
    sh = compile_expr(m.select_hits, [*hit_cols, *known], f"mapping select.hits ({where})") if m.select_hits else None
    se = (compile_expr(m.select_events, [*event_cols, *known], f"mapping select.events ({where})")
          if m.select_events else None)
    return Compiled(exprs, sh, se, hit_cols, event_cols)


def _ak() -> Any:
    import awkward as ak

    return ak


def _ndim(x: Any) -> int:
    return x.ndim if isinstance(x, _ak().Array) else int(np.ndim(x))


def _np(x: Any) -> np.ndarray:
    ak = _ak()
    return np.asarray(ak.to_numpy(x)) if isinstance(x, ak.Array) else np.asarray(x)


def _lists(kind: str, cols: dict[str, Any], spec: MappingT[str, Any], nested_index: str | None,
           where: Any = None) -> dict[str, Any]:
    """Evaluated columns -> awkward lists per event (nested lists flattened, scalars broadcast).

    ``where(i)`` names event ``i`` of the chunk in messages (its entry of the file).
    """
    ak = _ak()
    arrays = {k: v for k, v in cols.items() if _ndim(v) >= 1}
    deep = {k: v for k, v in arrays.items() if _ndim(v) >= 3}
    if any(_ndim(v) > 3 for v in deep.values()):
        k = next(k for k, v in deep.items() if _ndim(v) > 3)
        raise DataError(f"{kind} column `{k}` (`{spec[k]}`) is nested {_ndim(cols[k]) - 1} levels deep; "
                        "at most lists of lists per event are flattened")
    out: dict[str, Any] = {}
    if deep:
        if kind != "hit":
            k = next(iter(deep))
            raise DataError(f"{kind} column `{k}` (`{spec[k]}`) holds lists of lists per event; only hits are "
                            "flattened (map one list per event)")
        rk, ref = next(iter(deep.items()))
        inner = _np(ak.flatten(ak.num(ref, axis=2), axis=None))
        for k, v in deep.items():
            if not np.array_equal(_np(ak.flatten(ak.num(v, axis=2), axis=None)), inner):
                raise DataError(f"hit columns `{rk}` and `{k}` hold lists of lists of different lengths")
        groups = _np(ak.num(ref, axis=1))
        for k, v in arrays.items():
            if _ndim(v) == 2:
                if not np.array_equal(_np(ak.num(v, axis=1)), groups):
                    raise DataError(f"hit column `{k}` (`{spec[k]}`) has one list per event but its lengths "
                                    f"differ from the number of inner lists of `{rk}`; give one value per inner list")
                v = ak.broadcast_arrays(v[:, :, np.newaxis], ref)[0]
            if _ndim(v) == 3:
                out[k] = ak.flatten(v, axis=2)
        if nested_index and nested_index not in cols:
            idx = ak.broadcast_arrays(ak.local_index(ref, axis=1)[:, :, np.newaxis], ref)[0]
            out[nested_index] = ak.flatten(idx, axis=2)
    else:
        out = {k: v for k, v in arrays.items() if _ndim(v) == 2}
    if not out:
        if not cols:
            return {}
        k = next(iter(cols))
        raise DataError(f"{kind} column `{k}` from `{spec[k]}` holds one value per entry; {kind} columns must be "
                        "lists per event (or use `layout: flat` for one-hit-per-entry trees)")
    rk, ref = next(iter(out.items()))
    counts = _np(ak.num(ref, axis=1))
    for k, v in list(out.items()):
        c = _np(ak.num(v, axis=1))
        if not np.array_equal(c, counts):
            i = int(np.flatnonzero(c != counts)[0])
            at = where(i) if where is not None else f"event {i} of the chunk"
            raise DataError(f"{kind} column `{k}` (`{spec.get(k, k)}`) has {c[i]} values at {at} but `{rk}` "
                            f"(`{spec.get(rk, rk)}`) has {counts[i]}; map the {kind} columns from branches or arrays "
                            f"of one collection (one value per {kind}), or select those entries out")
    for k, v in cols.items():
        if k not in out and _ndim(v) <= 1:  # per-entry values and constants: one per hit
            out[k] = ak.broadcast_arrays(ak.Array(np.broadcast_to(np.asarray(v), (len(ref),))) if _ndim(v) == 0
                                         else v, ref)[0]
    return {k: out[k] for k in [*cols, *[k for k in out if k not in cols]]}


def _reduce(arr: Any, how: str, default: Any) -> np.ndarray:
    ak = _ak()
    if _ndim(arr) > 2:
        arr = ak.flatten(arr, axis=2)
    if how == "count":
        return _np(ak.num(arr, axis=1))
    out = ak.firsts(arr, axis=1) if how == "first" else getattr(ak, how)(arr, axis=1)
    return _np(ak.fill_none(out, np.nan if default is None else default))


def map_values(values: np.ndarray, spec: EventSpec, name: str) -> np.ndarray:
    """Apply an event column's value ``map`` (with its ``default``)."""
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


def event_columns(m: Mapping, got: dict[str, Any], n: int, flat: bool = False) -> dict[str, np.ndarray]:
    """Event scalars (reduced and mapped) for ``n`` events; flat layouts take the first row."""
    out: dict[str, np.ndarray] = {}
    for name, spec in m.event.items():
        arr = got[f"event:{name}"]
        if _ndim(arr) > 1:
            how = spec.reduce or ("first" if flat else None)
            if how is None:
                raise DataError(f"event column `{name}` from `{spec.expr}` holds a list per event; add "
                                f"`reduce: first` (or sum, count, max, min, mean) in the mapping")
            vals = _reduce(arr, how, spec.default)
        else:
            vals = np.broadcast_to(_np(arr), (n,))
        if spec.map is not None:
            vals = map_values(vals, spec, name)
        out[name] = vals * m.scale[name] if name in m.scale else vals
    return out


def _geometry(m: Mapping, geo: ChannelTable, hits: dict[str, Any]) -> dict[str, Any]:
    ak = _ak()
    on = m.geometry["hit_column"]
    counts = _np(ak.num(hits[on], axis=1))
    found, cols = geo.lookup(_np(ak.flatten(hits[on], axis=None)))
    if not found.all():
        if m.geometry["missing"] == "error":
            raise geo.unknown_error(_np(ak.flatten(hits[on], axis=None))[~found], on)
        ev = np.repeat(np.arange(len(counts)), counts)
        counts = np.bincount(ev[found], minlength=len(counts))
        hits = {k: ak.unflatten(_np(ak.flatten(v, axis=None))[found], counts) for k, v in hits.items()}
    hits.update({k: ak.unflatten(v, counts) for k, v in cols.items()})
    return hits


def _scaled(m: Mapping, cols: dict[str, Any]) -> dict[str, Any]:
    return {k: (v * m.scale[k] if k in m.scale else v) for k, v in cols.items()}


def assemble(m: Mapping, comp: Compiled, got: dict[str, Any], entries: np.ndarray, *, offset: int = 0,
             flat: bool = False, geometry: ChannelTable | None = None,
             base_hits: dict[str, Any] | None = None, join: Any = None) -> pa.Table | None:
    """One chunk of events from the file columns of consecutive entries.

    Args:
        m: the mapping.
        comp: its expressions compiled against the file (:func:`compile_mapping`).
        got: file column name -> per-entry array (awkward lists per event).
        entries: (B,) entry numbers (flat layouts: the group values).
        offset: added to the event ids (several files).
        flat: the entries are groups of a flat tree (event columns take the first row).
        geometry: the loaded geometry table, when the mapping has one.
        base_hits: hit lists made by the reader itself (image pixels), merged first.
        join: called with the raw event ids, returns extra event columns.

    Returns:
        The chunk, or None when no event passes the selections.
    """
    ak = _ak()
    ev = {k: evaluate(e, got) for k, e in comp.exprs.items()}
    if "selection" in ev and not flat:
        mask = _np(ev.pop("selection")).astype(bool)
        ev = {k: v[mask] if _ndim(v) >= 1 else v for k, v in ev.items()}
        got = {k: v[mask] for k, v in got.items()}
        base_hits = {k: v[mask] for k, v in base_hits.items()} if base_hits else base_hits
        entries = entries[mask]
    n = len(entries)
    if n == 0:
        return None
    hit_vals = {k: ev[f"hit:{k}"] if isinstance(v, str) else v for k, v in m.hits.items()}
    def where(i: int) -> str:
        return f"{'group' if flat else 'entry'} {entries[i]}"

    hits = ({**(base_hits or {}), **_lists("hit", hit_vals, m.hits, m.nested_index, where)} if hit_vals
            else dict(base_hits or {}))
    if geometry is not None:
        hits = _geometry(m, geometry, hits)
    hits = _scaled(m, hits)
    if comp.select_hits is not None:
        mask = evaluate(comp.select_hits, {**got, **hits})
        if _ndim(mask) == 3:
            mask = ak.flatten(mask, axis=2)
        elif _ndim(mask) <= 1 and hits:  # per-event values only: the same for all hits of an event
            mask = ak.broadcast_arrays(ak.Array(np.broadcast_to(_np(mask), (n,))), next(iter(hits.values())))[0]
        hits = {k: v[mask] for k, v in hits.items()}
    parts = _scaled(m, _lists("particle", {k: ev[f"particle:{k}"] for k in m.particles}, m.particles, None, where))
    if m.event_id:
        ids = ev["event_id"]
        raw_ids = _np(ak.firsts(ids, axis=1) if _ndim(ids) > 1 else np.broadcast_to(_np(ids), (n,))).astype(np.int64)
    else:
        raw_ids = np.asarray(entries, np.int64)
    events: dict[str, Any] = {"event_id": raw_ids + offset, **event_columns(m, ev, n, flat)}
    if join is not None:
        events.update(join(raw_ids))
    hcounts = _np(ak.num(next(iter(hits.values())), axis=1)) if hits else np.zeros(n, np.int64)
    pcounts = _np(ak.num(next(iter(parts.values())), axis=1)) if parts else None
    if comp.select_events is not None:
        env = {**got, **events, "n_hits": hcounts, "n_particles": pcounts if pcounts is not None else np.zeros(n)}
        val = evaluate(comp.select_events, env)
        if _ndim(val) > 1:
            if not flat:
                raise DataError(f"select.events `{m.select_events}` gives a list per event; reduce it "
                                "(num(...), sum(...), any(...), first(...))")
            val = ak.firsts(val, axis=1)
        keep = np.broadcast_to(_np(val).astype(bool), (n,))
        events = {k: np.asarray(v)[keep] for k, v in events.items()}
        hits = {k: v[keep] for k, v in hits.items()}
        parts = {k: v[keep] for k, v in parts.items()}
        hcounts = hcounts[keep]
        pcounts = pcounts[keep] if pcounts is not None else None
        if not keep.any():
            return None
    table = table_from_flat(hcounts, {k: _np(ak.flatten(v, axis=None)) for k, v in hits.items()}, events,
                            pcounts, {k: _np(ak.flatten(v, axis=None)) for k, v in parts.items()} or None)
    return finish_dtypes(table, m.dtypes)


def finish_dtypes(table: pa.Table, dtypes: MappingT[str, str]) -> pa.Table:
    """Cast columns named in the mapping's ``dtypes`` and mark them so validation keeps them."""
    if not dtypes:
        return table
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if name in dtypes:
            t = pa.from_numpy_dtype(np.dtype(dtypes[name]))
            t = pa.list_(t) if pa.types.is_list(col.type) else t
            try:
                col = col.cast(t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise DataError(f"column `{name}` cannot be stored as {dtypes[name]} (dtypes.{name}): "
                                f"{str(err).splitlines()[0]}") from None
        cols[name] = col
    return mark_dtypes(pa.table(cols), {k: v for k, v in dtypes.items() if k in cols})
