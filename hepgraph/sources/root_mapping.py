"""The YAML mapping of the ``root`` source: which TTree branches become which columns.

.. code-block:: yaml

    tree: events                  # the TTree (required)
    friends: [truth]              # entry-aligned trees whose branches may also be used
    layout: jagged                # jagged: one entry per event, hit branches are lists
                                  # flat: one entry per hit, grouped by `group_by`
    group_by: Event               # flat layout: event-number branch (rows of an event adjacent)
    event_id: evt                 # default: entry number (jagged) / group value (flat)
    hits: {x: hit_x, y: hit_y, z: hit_z, charge: hit_e, track_id: hit_trk, layer: "id // 1000"}
    particles: {particle_id: part_id, particle_px: part_px}
    event:                        # event scalars: an expression, or {expr, reduce, map}
      label: {expr: "_part_v._pdg", reduce: first, map: {11: 0, 2212: 1}}
    join: {tree: GeneratedTracks, key: Event, event: {p: p}}   # per-event tree keyed by event id
    image: {branch: ..., rows: ..., cols: ..., p1x: ..., ...}  # hits = pixels of 2D images
    scale: {x: 10.0, charge: 1000.0}   # multiply after reading (cm -> mm, GeV -> MeV)
    selection: "nhits > 3"        # uproot cut: per entry (jagged) or per hit row (flat)
    step_size: 10000              # entries read at a time (memory bound)
    entries_per_shard: 100000     # entries per shard task
    label_names: [electron, proton]
    semantic_names: null
    default_task: classification
    units: {charge: MeV}
    default_features: [[x, 0.0, 0.01], charge]
    extra: {extent: [[0, 100], [0, 100], [0, 100]]}

Expressions are uproot expressions (branch names, arithmetic, numpy functions such as
``sqrt``, ``arctan2``; ``get("name/with/slashes")``). A hit value may be a number
(a constant for every hit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepgraph.errors import ConfigError
from hepgraph.events.schema import COLUMNS, kind_of
from hepgraph.sources._common import check_keys

TOP_KEYS = (
    "tree", "friends", "layout", "group_by", "event_id", "file_id_offset", "hits", "particles", "event",
    "join", "image", "scale", "selection", "step_size", "entries_per_shard", "label_names",
    "semantic_names", "default_task", "units", "default_features", "extra",
)
EVENT_SPEC_KEYS = ("expr", "reduce", "map", "default")
REDUCERS = ("first", "sum", "count", "max", "min", "mean")
JOIN_KEYS = ("tree", "key", "event")
IMAGE_KEYS = ("branch", "rows", "cols", "p1x", "p1y", "p2x", "p2y", "projections", "threshold",
              "column_major")


@dataclass
class EventSpec:
    """One event scalar: expression, optional reduction of a list, optional value map."""

    expr: str
    reduce: str | None = None
    map: dict[Any, int] | None = None
    default: int | None = None


@dataclass
class Mapping:
    """A validated mapping (see the module docstring for the YAML form)."""

    tree: str
    friends: list[str] = field(default_factory=list)
    layout: str = "jagged"
    group_by: str | None = None
    event_id: str | None = None
    file_id_offset: bool | None = None
    hits: dict[str, str | float] = field(default_factory=dict)
    particles: dict[str, str] = field(default_factory=dict)
    event: dict[str, EventSpec] = field(default_factory=dict)
    join: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    scale: dict[str, float] = field(default_factory=dict)
    selection: str | None = None
    step_size: int = 10_000
    entries_per_shard: int = 100_000
    label_names: list[str] | None = None
    semantic_names: list[str] | None = None
    default_task: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    default_features: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def expressions(self) -> dict[str, str]:
        """Every expression read from the entry-aligned trees: ``{key: expression}``."""
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
        if self.image:
            for k in ("branch", "rows", "cols", "p1x", "p1y", "p2x", "p2y"):
                if self.image.get(k) is not None:
                    out[f"image:{k}"] = str(self.image[k])
        return out


def _column_name(name: str, want: str, where: str) -> None:
    if name in COLUMNS and kind_of(name) != want:
        raise ConfigError(f"mapping {where}: `{name}` is a {kind_of(name)} column, not a {want} column")
    if name not in COLUMNS and kind_of(name) != want:
        prefix = {"hit": "hit_", "particle": "particle_"}.get(want)
        raise ConfigError(
            f"mapping {where}: `{name}` is not a known {want} column; use a schema name or the "
            f"prefix `{prefix}` for extra columns" if prefix else f"mapping {where}: `{name}` is a list column"
        )


def parse_mapping(data: dict[str, Any], origin: str | Path = "<mapping>") -> Mapping:
    """Validate a mapping dict.

    Raises:
        ConfigError: unknown keys, missing ``tree``/coordinates, bad layout or reducer.
    """
    where = f"`{origin}`"
    check_keys(data, TOP_KEYS, f"mapping {where}")
    if not data.get("tree"):
        raise ConfigError(f"mapping {where} needs `tree: <TTree name>`")
    layout = data.get("layout", "jagged")
    if layout not in ("jagged", "flat"):
        raise ConfigError(f"mapping {where}: layout `{layout}` must be `jagged` or `flat`")
    if layout == "flat" and not data.get("group_by"):
        raise ConfigError(f"mapping {where}: the flat layout needs `group_by: <event-number branch>`")
    hits = dict(data.get("hits") or {})
    image = data.get("image")
    if image is not None:
        check_keys(image, IMAGE_KEYS, f"mapping {where} image")
        for k in ("branch", "rows", "cols"):
            if k not in image:
                raise ConfigError(f"mapping {where}: image needs `{k}`")
        if layout != "jagged":
            raise ConfigError(f"mapping {where}: image hits need the jagged layout")
    elif not all(c in hits for c in ("x", "y", "z")):
        raise ConfigError(f"mapping {where}: hits must map x, y and z (numbers allowed for constants)")
    for k in hits:
        _column_name(k, "hit", f"{where} hits")
    parts = dict(data.get("particles") or {})
    if parts and layout == "flat":
        raise ConfigError(f"mapping {where}: particles need the jagged layout")
    for k in parts:
        _column_name(k, "particle", f"{where} particles")
    events: dict[str, EventSpec] = {}
    for k, v in (data.get("event") or {}).items():
        _column_name(k, "event", f"{where} event")
        if isinstance(v, dict):
            check_keys(v, EVENT_SPEC_KEYS, f"mapping {where} event.{k}")
            if "expr" not in v:
                raise ConfigError(f"mapping {where} event.{k} needs `expr`")
            spec = EventSpec(str(v["expr"]), v.get("reduce"), v.get("map"), v.get("default"))
        else:
            spec = EventSpec(str(v))
        if spec.reduce is not None and spec.reduce not in REDUCERS:
            raise ConfigError(f"mapping {where} event.{k}: reduce `{spec.reduce}` must be one of {', '.join(REDUCERS)}")
        events[k] = spec
    join = data.get("join")
    if join is not None:
        check_keys(join, JOIN_KEYS, f"mapping {where} join")
        if not join.get("tree") or not join.get("key") or not join.get("event"):
            raise ConfigError(f"mapping {where}: join needs `tree`, `key` and `event`")
        for k in join["event"]:
            _column_name(k, "event", f"{where} join.event")
    scale = {str(k): float(v) for k, v in (data.get("scale") or {}).items()}
    known = set(hits) | set(parts) | set(events) | set((join or {}).get("event", {})) | (
        {"x", "y", "z", "charge"} if image else set())
    for k in scale:
        if k not in known:
            raise ConfigError(f"mapping {where}: scale names `{k}`, which is not a mapped column")
    m = Mapping(
        tree=str(data["tree"]), friends=list(data.get("friends") or []), layout=layout,
        group_by=data.get("group_by"), event_id=data.get("event_id"), file_id_offset=data.get("file_id_offset"),
        hits=hits, particles=parts, event=events, join=join, image=image, scale=scale,
        selection=data.get("selection"), step_size=int(data.get("step_size", 10_000)),
        entries_per_shard=int(data.get("entries_per_shard", 100_000)),
        label_names=data.get("label_names"), semantic_names=data.get("semantic_names"),
        default_task=data.get("default_task"), units=dict(data.get("units") or {}),
        default_features=data.get("default_features"), extra=dict(data.get("extra") or {}), raw=dict(data),
    )
    if m.step_size < 1 or m.entries_per_shard < 1:
        raise ConfigError(f"mapping {where}: step_size and entries_per_shard must be >= 1")
    return m
