"""Event schema, validation, feature specs and ``HitBatch``.

``HitBatch`` and ``collate_events`` (which need torch) load on first use, so that the
dataset writers and worker processes that only validate and write Parquet do not pay
the torch import (about 2 s per process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hepgraph.events.features import Feature, FeatureSpec
from hepgraph.events.schema import COLUMNS, SCHEMA_VERSION, Column
from hepgraph.events.table import Event, table_from_events, table_from_flat, table_to_events
from hepgraph.events.validate import validate_table

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.events.hitbatch import HitBatch, collate_events

__all__ = [
    "COLUMNS", "SCHEMA_VERSION", "Column", "Event", "Feature", "FeatureSpec", "HitBatch",
    "collate_events", "table_from_events", "table_from_flat", "table_to_events", "validate_table",
]


def __getattr__(name: str) -> Any:
    if name in ("HitBatch", "collate_events"):
        from hepgraph.events import hitbatch

        return getattr(hitbatch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
