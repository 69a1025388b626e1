"""Event schema, validation, feature specs and ``HitBatch``."""

from __future__ import annotations

from hepgraph.events.features import Feature, FeatureSpec
from hepgraph.events.hitbatch import HitBatch, collate_events
from hepgraph.events.schema import COLUMNS, SCHEMA_VERSION, Column
from hepgraph.events.table import Event, table_from_events, table_from_flat, table_to_events
from hepgraph.events.validate import validate_table

__all__ = [
    "COLUMNS", "SCHEMA_VERSION", "Column", "Event", "Feature", "FeatureSpec", "HitBatch",
    "collate_events", "table_from_events", "table_from_flat", "table_to_events", "validate_table",
]
