"""The YAML mapping of the ``root`` and ``hdf5`` sources.

It says which file columns become which event columns; the full reference, with worked
examples, is ``docs/mapping.md``.

.. code-block:: yaml

    tree: events                  # root: the TTree (hdf5: `arrays:` instead)
    hits: {x: hit_x, y: hit_y, z: hit_z, t: "Evt/hits/hits.t - Evt/t0", charge: hit_e}
    particles: {particle_id: part_id, particle_px: part_px}
    event: {label: {expr: pdg, reduce: first, map: {11: 0, 13: 1}}}
    select: {hits: "hit_trig > 0", events: "n_hits >= 5"}
    geometry: {file: pmts.csv, id: pmt_id, hit_column: hit_pmt, columns: {x: px, y: py, z: pz}}
    scale: {x: 10.0}              # multiply after reading (cm -> mm)
    dtypes: {hit_tabs: float64}   # keep full precision for a float column

Every expression is parsed by :mod:`hepgraph.sources.expr` (never ``eval``'d).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepgraph.errors import ConfigError
from hepgraph.events.schema import COLUMNS, EVENT_COLUMNS, HIT_COLUMNS, PARTICLE_COLUMNS, kind_of
from hepgraph.sources._common import check_keys

COMMON_KEYS = (
    "hits", "particles", "event", "event_id", "file_id_offset", "select", "selection", "geometry",
    "nested_index", "scale", "dtypes", "step_size", "entries_per_shard", "label_names",
    "semantic_names", "default_task", "units", "default_features", "extra",
)
ROOT_KEYS = ("tree", "friends", "layout", "group_by", "join", "image")
HDF5_KEYS = ("arrays",)
EVENT_SPEC_KEYS = ("expr", "reduce", "map", "default")
REDUCERS = ("first", "sum", "count", "max", "min", "mean")
JOIN_KEYS = ("tree", "key", "event")
IMAGE_KEYS = ("branch", "rows", "cols", "p1x", "p1y", "p2x", "p2y", "projections", "threshold",
              "column_major")
SELECT_KEYS = ("hits", "events")
GEOMETRY_KEYS = ("file", "tree", "id", "hit_column", "columns", "missing")
ARRAY_KEYS = ("dataset", "width", "counts", "offsets", "index", "field")
DTYPES = ("float32", "float64", "int32", "int64")
#: The YAML type each top-level key must have (checked before anything reads it).
KEY_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    **{k: ("a mapping", (dict,)) for k in ("hits", "particles", "event", "scale", "dtypes", "units", "extra",
                                            "join", "image", "select", "geometry", "arrays")},
    **{k: ("a list", (list,)) for k in ("friends", "default_features")},
    **{k: ("a name", (str,)) for k in ("tree", "layout", "nested_index", "default_task")},
    **{k: ("an expression", (str, int, float)) for k in ("group_by", "event_id", "selection")},
    **{k: ("a whole number", (int,)) for k in ("step_size", "entries_per_shard", "events_per_shard")},
    "file_id_offset": ("true or false", (bool,)),
}
#: Names ``select.events`` may use besides the event columns.
EVENT_COUNTS = ("n_hits", "n_particles")


@dataclass
class EventSpec:
    """One event scalar: expression, optional reduction of a list, optional value map."""

    expr: str
    reduce: str | None = None
    map: dict[Any, int] | None = None
    default: int | None = None


@dataclass
class Mapping:
    """A validated mapping (see ``docs/mapping.md`` for every key)."""

    source: str = "root"
    tree: str = ""
    friends: list[str] = field(default_factory=list)
    layout: str = "jagged"
    group_by: str | None = None
    arrays: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_id: str | None = None
    file_id_offset: bool | None = None
    hits: dict[str, str | float] = field(default_factory=dict)
    particles: dict[str, str] = field(default_factory=dict)
    event: dict[str, EventSpec] = field(default_factory=dict)
    join: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    selection: str | None = None
    select_hits: str | None = None
    select_events: str | None = None
    geometry: dict[str, Any] | None = None
    nested_index: str = "hit_group"
    scale: dict[str, float] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    step_size: int = 10_000
    entries_per_shard: int = 100_000
    label_names: list[str] | None = None
    semantic_names: list[str] | None = None
    default_task: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    default_features: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    base_dir: str = "."

    def expressions(self) -> dict[str, str]:
        """Every expression over the file's per-entry columns: ``{key: expression}``."""
        out: dict[str, str] = {}
        for k, v in self.hits.items():
            if isinstance(v, str):
                out[f"hit:{k}"] = v
        for k, v in self.particles.items():
            out[f"particle:{k}"] = v
        for k, spec in self.event.items():
            out[f"event:{k}"] = spec.expr
        if self.event_id:
            out["event_id"] = self.event_id
        if self.group_by:
            out["group_by"] = self.group_by
        if self.selection:
            out["selection"] = self.selection
        if self.image:
            for k in ("branch", "rows", "cols", "p1x", "p1y", "p2x", "p2y"):
                if self.image.get(k) is not None:
                    out[f"image:{k}"] = str(self.image[k])
        return out

    def hit_columns(self) -> list[str]:
        """Hit columns the mapping produces (mapped, image, geometry and nested index)."""
        cols = list(self.hits)
        if self.image:
            cols += ["x", "y", "z", "charge", "pad_row", "pad_col", "module"]
        if self.geometry:
            cols += list(self.geometry["columns"])
        return list(dict.fromkeys(cols))


def _allowed(kind: str) -> str:
    cols = {"hit": HIT_COLUMNS, "particle": PARTICLE_COLUMNS, "event": EVENT_COLUMNS}[kind]
    return ", ".join(c.name for c in cols)


def column_check(name: str, want: str, where: str) -> None:
    """Raise :class:`ConfigError` when ``name`` is not a ``want`` column (lists the allowed ones)."""
    if name in COLUMNS and kind_of(name) == want:
        return
    if name not in COLUMNS and kind_of(name) == want:
        return
    prefix = {"hit": "hit_", "particle": "particle_"}.get(want)
    extra = (f", or any name starting with `{prefix}` for an extra column" if prefix
             else ", or any other name without the hit_/particle_ prefix for an extra event column")
    what = f"a {kind_of(name)} column" if name in COLUMNS else f"not a {want} column"
    raise ConfigError(f"mapping {where}: `{name}` is {what}; {want} columns: {_allowed(want)}{extra}")


def _event_specs(data: dict[str, Any], where: str) -> dict[str, EventSpec]:
    events: dict[str, EventSpec] = {}
    for k, v in (data.get("event") or {}).items():
        column_check(k, "event", f"{where} event")
        if isinstance(v, dict):
            check_keys(v, EVENT_SPEC_KEYS, f"mapping {where} event.{k}")
            if "expr" not in v:
                raise ConfigError(f"mapping {where} event.{k} needs `expr`")
            spec = EventSpec(str(v["expr"]), v.get("reduce"), v.get("map"), v.get("default"))
        else:
            spec = EventSpec(str(v))
        if spec.reduce is not None and spec.reduce not in REDUCERS:
            raise ConfigError(f"mapping {where} event.{k}: reduce `{spec.reduce}` must be one of "
                              f"{', '.join(REDUCERS)}")
        events[k] = spec
    return events


def _geometry(g: Any, hits: dict[str, Any], where: str) -> dict[str, Any] | None:
    if g is None:
        return None
    if not isinstance(g, dict):
        raise ConfigError(f"mapping {where}: geometry must be a mapping with keys {', '.join(GEOMETRY_KEYS)}")
    check_keys(g, GEOMETRY_KEYS, f"mapping {where} geometry")
    for k in ("file", "id", "hit_column", "columns"):
        if not g.get(k):
            raise ConfigError(f"mapping {where}: geometry needs `{k}` (keys: {', '.join(GEOMETRY_KEYS)})")
    if g["hit_column"] not in hits:
        raise ConfigError(f"mapping {where}: geometry.hit_column `{g['hit_column']}` must be a mapped hit column "
                          f"(mapped: {', '.join(hits) or 'none'})")
    for k in g["columns"]:
        column_check(k, "hit", f"{where} geometry.columns")
        if k in hits:
            raise ConfigError(f"mapping {where}: `{k}` is mapped under both hits and geometry.columns; keep one")
    if g.get("missing", "error") not in ("error", "drop"):
        raise ConfigError(f"mapping {where}: geometry.missing `{g['missing']}` must be `error` or `drop`")
    return {**g, "missing": g.get("missing", "error")}


def check_class_names(data: dict[str, Any], where: str) -> None:
    """``label_names`` / ``semantic_names`` of a mapping are lists of distinct non-empty strings.

    Raises:
        ConfigError: a string, numbers, empty or repeated names (a repeated name would make two
            classes one column of the predictions).
    """
    for key in ("label_names", "semantic_names"):
        names = data.get(key)
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) and n for n in names)
                                  or len(set(names)) != len(names)):
            raise ConfigError(f"mapping {where}: {key} `{names}` must be a list of distinct, non-empty names "
                              f"(class 0 first), e.g. {key}: [electron, muon]")


def check_types(data: dict[str, Any], where: str) -> None:
    """Each key holds the YAML type it needs; expressions, hit/particle values and scale factors too.

    Raises:
        ConfigError: a key of the wrong type (``scale: 5``, ``step_size: abc``, ``hits.z: [1, 2]``).
    """
    for key, value in data.items():
        if key not in KEY_TYPES or value is None:
            continue
        what, types = KEY_TYPES[key]
        ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
        if not ok:
            raise ConfigError(f"mapping {where}: `{key}` must be {what}, got {type(value).__name__} `{value}` "
                              "(reference: docs/mapping.md)")
    for key in ("hits", "particles"):
        for col, v in (data.get(key) or {}).items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise ConfigError(f"mapping {where}: {key}.{col} `{v}` must be an expression (a branch or array "
                                  "name, or a formula) or a number (the same value for every hit)")
    for col, v in (data.get("event") or {}).items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float, dict)):
            raise ConfigError(f"mapping {where}: event.{col} `{v}` must be an expression or "
                              "{expr, reduce, map, default}")
    for col, v in (data.get("scale") or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"mapping {where}: scale.{col} `{v}` must be a number (e.g. 10.0 for cm -> mm)")
    for col in data.get("friends") or []:
        if not isinstance(col, str):
            raise ConfigError(f"mapping {where}: friends `{data['friends']}` must be a list of tree names")


def parse_mapping(data: dict[str, Any], origin: str | Path = "<mapping>", source: str = "root") -> Mapping:
    """Validate a mapping dict for the ``root`` or ``hdf5`` source.

    Raises:
        ConfigError: unknown keys (with the valid ones), a missing tree/arrays, coordinates,
            a bad layout, reducer, column name, dtype or selection key.
    """
    where = f"`{origin}`"
    own = ROOT_KEYS if source == "root" else HDF5_KEYS
    check_keys(data, (*own, *COMMON_KEYS), f"mapping {where}")
    check_types(data, where)
    if source == "root" and not data.get("tree"):
        raise ConfigError(f"mapping {where} needs `tree: <TTree name>`")
    if source == "hdf5":
        arrays = data.get("arrays")
        if not isinstance(arrays, dict) or not arrays:
            raise ConfigError(f"mapping {where} needs `arrays: {{name: {{dataset: ...}}}}` (see docs/mapping.md)")
        for name, spec in arrays.items():
            spec = {"dataset": spec} if isinstance(spec, str) else spec
            if not isinstance(spec, dict):
                raise ConfigError(f"mapping {where} arrays.{name} `{spec}` must be a dataset path or "
                                  "{dataset, width, counts | offsets | index, field}")
            check_keys(spec, ARRAY_KEYS, f"mapping {where} arrays.{name}")
            if not spec.get("dataset"):
                raise ConfigError(f"mapping {where} arrays.{name} needs `dataset: <path in the file>`")
            if sum(k in spec for k in ("counts", "offsets", "index")) > 1:
                raise ConfigError(f"mapping {where} arrays.{name}: give one of counts, offsets or index")
            arrays[name] = spec
    layout = data.get("layout", "jagged")
    if layout not in ("jagged", "flat"):
        raise ConfigError(f"mapping {where}: layout `{layout}` must be `jagged` or `flat`")
    if layout == "flat" and not data.get("group_by"):
        raise ConfigError(f"mapping {where}: the flat layout needs `group_by: <event-number branch>`")
    hits = dict(data.get("hits") or {})
    image = data.get("image")
    geometry = _geometry(data.get("geometry"), hits, where)
    if image is not None:
        check_keys(image, IMAGE_KEYS, f"mapping {where} image")
        for k in ("branch", "rows", "cols"):
            if k not in image:
                raise ConfigError(f"mapping {where}: image needs `{k}`")
        if layout != "jagged":
            raise ConfigError(f"mapping {where}: image hits need the jagged layout")
    else:
        have = set(hits) | set((geometry or {}).get("columns", {}))
        missing = [c for c in ("x", "y", "z") if c not in have]
        if missing:
            raise ConfigError(f"mapping {where}: hits must map x, y and z (missing {', '.join(missing)}; "
                              "a number is a constant, geometry.columns may give them)")
    for k in hits:
        column_check(k, "hit", f"{where} hits")
    parts = dict(data.get("particles") or {})
    if parts and layout == "flat":
        raise ConfigError(f"mapping {where}: particles need the jagged layout")
    for k in parts:
        column_check(k, "particle", f"{where} particles")
    events = _event_specs(data, where)
    join = data.get("join")
    if join is not None:
        check_keys(join, JOIN_KEYS, f"mapping {where} join")
        if not join.get("tree") or not join.get("key") or not join.get("event"):
            raise ConfigError(f"mapping {where}: join needs `tree`, `key` and `event`")
        for k in join["event"]:
            column_check(k, "event", f"{where} join.event")
    select = data.get("select") or {}
    if not isinstance(select, dict):
        raise ConfigError(f"mapping {where}: select must be a mapping with keys {', '.join(SELECT_KEYS)}")
    check_keys(select, SELECT_KEYS, f"mapping {where} select")
    nested = str(data.get("nested_index", "hit_group"))
    column_check(nested, "hit", f"{where} nested_index")
    produced = set(hits) | set(parts) | set(events) | set((join or {}).get("event", {})) | set(
        (geometry or {}).get("columns", {})) | ({"x", "y", "z", "charge"} if image else set()) | {nested}
    scale = {str(k): float(v) for k, v in (data.get("scale") or {}).items()}
    dtypes = {str(k): str(v) for k, v in (data.get("dtypes") or {}).items()}
    for key, table in (("scale", scale), ("dtypes", dtypes)):
        for k in table:
            if k not in produced:
                raise ConfigError(f"mapping {where}: {key} names `{k}`, which is not a mapped column; "
                                  f"mapped: {', '.join(sorted(produced))}")
    for k, v in dtypes.items():
        if v not in DTYPES:
            raise ConfigError(f"mapping {where}: dtypes.{k} `{v}` must be one of {', '.join(DTYPES)}")
    check_class_names(data, where)
    m = Mapping(
        source=source, tree=str(data.get("tree", "")), friends=list(data.get("friends") or []),
        layout=layout, group_by=data.get("group_by"), arrays=dict(data.get("arrays") or {}),
        event_id=data.get("event_id"), file_id_offset=data.get("file_id_offset"), hits=hits,
        particles=parts, event=events, join=join, image=image, selection=data.get("selection"),
        select_hits=select.get("hits"), select_events=select.get("events"), geometry=geometry,
        nested_index=nested, scale=scale, dtypes=dtypes, step_size=int(data.get("step_size", 10_000)),
        entries_per_shard=int(data.get("entries_per_shard", 100_000)),
        label_names=data.get("label_names"), semantic_names=data.get("semantic_names"),
        default_task=data.get("default_task"), units=dict(data.get("units") or {}),
        default_features=data.get("default_features"), extra=dict(data.get("extra") or {}), raw=dict(data),
        base_dir=str(Path(origin).parent) if str(origin) != "<mapping>" else ".",
    )
    if m.step_size < 1 or m.entries_per_shard < 1:
        raise ConfigError(f"mapping {where}: step_size and entries_per_shard must be >= 1")
    return m
