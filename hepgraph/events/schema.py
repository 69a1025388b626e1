"""The event schema: column names, dtypes, units and kinds (the contract of docs/architecture.md).

An event has three kinds of columns:

- ``hit``: lists with one entry per hit, all of the same length within an event;
- ``particle``: truth lists with one entry per particle;
- ``event``: one scalar per event (labels and regression targets).

Readers, writers, models and checks all rely on these names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError

SCHEMA_VERSION = 1

Kind = Literal["hit", "particle", "event"]


@dataclass(frozen=True)
class Column:
    """One schema column.

    Attributes:
        name: column name as stored in the Parquet shards.
        kind: ``hit``, ``particle`` or ``event``.
        dtype: numpy dtype name (``float32``, ``int64``, ...).
        unit: physical unit (``mm``, ``ns``, ``GeV``, ``MeV``, ``rad``) or ``""``.
        doc: one-line description.
    """

    name: str
    kind: Kind
    dtype: str
    unit: str = ""
    doc: str = ""


def _cols(kind: Kind, spec: list[tuple[str, str, str, str]]) -> list[Column]:
    return [Column(n, kind, d, u, doc) for n, d, u, doc in spec]


HIT_COLUMNS = _cols(
    "hit",
    [
        ("x", "float32", "mm", "hit position x"),
        ("y", "float32", "mm", "hit position y"),
        ("z", "float32", "mm", "hit position z"),
        ("t", "float64", "ns", "hit time (drift time for TPCs; float64: absolute times ~1e8 ns stay exact)"),
        ("charge", "float32", "MeV|ADC", "deposited energy (MeV, simulators) or ADC (raw data)"),
        ("layer", "int32", "", "detector layer index"),
        ("module", "int32", "", "detector module index"),
        ("wire", "int32", "", "wire index within its layer"),
        ("pad_row", "int32", "", "pad row index"),
        ("pad_col", "int32", "", "pad column index"),
        ("drift_radius", "float32", "mm", "drift distance to the wire (drift chambers, Geiger cells)"),
        ("dir_x", "float32", "", "channel direction x (unit vector, e.g. a PMT axis)"),
        ("dir_y", "float32", "", "channel direction y (unit vector)"),
        ("dir_z", "float32", "", "channel direction z (unit vector)"),
        ("hit_group", "int32", "", "outer index of nested hit lists (the track/cluster a hit list belongs to)"),
        ("hit_id", "int64", "", "the source's own hit id, kept for round trips"),
        ("track_id", "int64", "", "truth particle_id that made the hit; -1 = noise"),
        ("pdg", "int32", "", "truth PDG code of the particle that made the hit"),
        ("semantic", "int8", "", "truth semantic class index"),
    ],
)

PARTICLE_COLUMNS = _cols(
    "particle",
    [
        ("particle_id", "int64", "", "truth particle id"),
        ("particle_pdg", "int32", "", "PDG code"),
        ("particle_q", "int32", "e", "charge"),
        ("particle_px", "float32", "GeV", "momentum x"),
        ("particle_py", "float32", "GeV", "momentum y"),
        ("particle_pz", "float32", "GeV", "momentum z"),
        ("particle_vx", "float32", "mm", "production vertex x"),
        ("particle_vy", "float32", "mm", "production vertex y"),
        ("particle_vz", "float32", "mm", "production vertex z"),
        ("particle_nhits", "int32", "", "number of hits of the particle"),
        ("particle_weight", "float32", "", "TrackML truth weight (sum over the particle's hits)"),
    ],
)

EVENT_COLUMNS = _cols(
    "event",
    [
        ("event_id", "int64", "", "event number, unique within a dataset"),
        ("label", "int32", "", "event class index (class names in the manifest)"),
        ("n_tracks", "int32", "", "number of tracks (track counting)"),
        ("px", "float32", "GeV", "primary momentum x"),
        ("py", "float32", "GeV", "primary momentum y"),
        ("pz", "float32", "GeV", "primary momentum z"),
        ("p", "float32", "GeV", "primary momentum magnitude"),
        ("pt", "float32", "GeV", "primary transverse momentum"),
        ("energy", "float32", "GeV", "primary energy (kinetic for the simulators)"),
        ("theta", "float32", "rad", "primary polar angle"),
        ("phi", "float32", "rad", "primary azimuthal angle"),
        ("vx", "float32", "mm", "primary vertex x"),
        ("vy", "float32", "mm", "primary vertex y"),
        ("vz", "float32", "mm", "primary vertex z"),
    ],
)

#: All known columns by name.
COLUMNS: dict[str, Column] = {c.name: c for c in HIT_COLUMNS + PARTICLE_COLUMNS + EVENT_COLUMNS}

#: Columns every event must have.
REQUIRED = ("event_id", "x", "y", "z")

#: Hit columns that must be finite.
FINITE_HIT_COLUMNS = ("x", "y", "z", "t", "charge")


#: Table metadata key holding per-column dtype choices of a source (JSON ``{name: dtype}``).
DTYPES_KEY = b"hepgraph.dtypes"


def mark_dtypes(table: pa.Table, dtypes: Mapping[str, str]) -> pa.Table:
    """Record per-column dtypes (e.g. ``float64`` for a column whose range needs it) in the
    table metadata; :func:`hepgraph.events.validate_table` stores those columns so."""
    if not dtypes:
        return table
    meta = dict(table.schema.metadata or {})
    meta[DTYPES_KEY] = json.dumps({**marked_dtypes(table), **dict(dtypes)}).encode()
    return table.replace_schema_metadata(meta)


def marked_dtypes(table: pa.Table) -> dict[str, str]:
    """The dtypes recorded by :func:`mark_dtypes` (empty when none)."""
    raw = (table.schema.metadata or {}).get(DTYPES_KEY)
    return json.loads(raw) if raw else {}


def column(name: str) -> Column:
    """Schema column by name; unknown names are extra columns (float32 or int64 by value).

    Raises:
        DataError: the name is not a schema column.
    """
    try:
        return COLUMNS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(COLUMNS), n=3)
        raise DataError(
            f"`{name}` is not a hepgraph column"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
            + "; see `hepgraph.events.schema.COLUMNS`"
        ) from None


def kind_of(name: str) -> Kind:
    """``hit``, ``particle`` or ``event`` for a schema column; prefix rules for extras.

    Extra columns (not in the schema) are allowed: ``particle_*`` are particle lists,
    ``hit_*`` are hit lists, anything else is an event scalar.
    """
    if name in COLUMNS:
        return COLUMNS[name].kind
    if name.startswith("particle_"):
        return "particle"
    if name.startswith("hit_"):
        return "hit"
    return "event"


def dtype_of(name: str, values: np.ndarray | None = None) -> np.dtype:
    """Target numpy dtype of a column (schema dtype, else float32 / int64 by value)."""
    if name in COLUMNS:
        return np.dtype(COLUMNS[name].dtype)
    if values is not None and np.issubdtype(np.asarray(values).dtype, np.integer):
        return np.dtype("int64")
    return np.dtype("float32")


def unit_of(name: str) -> str:
    """Unit of a column, ``""`` for unknown or unitless columns."""
    return COLUMNS[name].unit if name in COLUMNS else ""
