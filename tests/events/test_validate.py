from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from hepgraph.errors import DataError
from hepgraph.events import table_from_events, validate_table


def test_valid_chunk_cast_to_schema(tiny_hits):
    t = validate_table(table_from_events(tiny_hits))
    assert t.schema.field("x").type == pa.list_(pa.float32())
    assert t.schema.field("layer").type == pa.list_(pa.int32())
    assert t.schema.field("label").type == pa.int32()
    assert t.num_rows == 3


def test_hit_lengths_mismatch(tiny_hits):
    tiny_hits[1]["charge"] = tiny_hits[1]["charge"][:-1]
    with pytest.raises(DataError, match=r"event 1 \(event_id=1\).*`charge`"):
        validate_table(table_from_events(tiny_hits))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_coordinates(tiny_hits, bad):
    tiny_hits[1]["y"][4] = bad
    with pytest.raises(DataError, match=r"event_id=1.*`y`.*hit 4"):
        validate_table(table_from_events(tiny_hits))


def test_track_id_without_particle(tiny_hits):
    tiny_hits[0]["track_id"][3] = 7
    with pytest.raises(DataError, match="track_id 7"):
        validate_table(table_from_events(tiny_hits))
    tiny_hits[0]["track_id"][3] = -1  # noise is fine
    validate_table(table_from_events(tiny_hits))


def test_track_id_of_another_events_particle(tiny_hits):
    """A particle id known in event 0 only does not satisfy a hit of event 1."""
    tiny_hits[0]["particle_id"] = np.array([1, 2, 2**40 + 5], np.int64)
    tiny_hits[0]["particle_px"] = np.ones(3, np.float32)
    tiny_hits[0]["track_id"][0] = 2**40 + 5                # large ids are fine in their event
    validate_table(table_from_events(tiny_hits))
    tiny_hits[1]["track_id"][6] = 2**40 + 5
    with pytest.raises(DataError, match=r"event_id=1.*track_id 1099511627781"):
        validate_table(table_from_events(tiny_hits))


def test_unsafe_casts(tiny_hits):
    tiny_hits[0]["layer"] = tiny_hits[0]["layer"].astype(np.float64) + 0.5
    with pytest.raises(DataError, match="`layer`"):
        validate_table(table_from_events(tiny_hits))


def test_overflowing_int(tiny_hits):
    for ev in tiny_hits:
        ev["layer"] = ev["layer"].astype(np.int64)
    tiny_hits[0]["layer"][0] = 2**40
    with pytest.raises(DataError, match="`layer`"):
        validate_table(table_from_events(tiny_hits))


def test_missing_required_and_duplicates(tiny_hits):
    for ev in tiny_hits:
        del ev["z"]
    with pytest.raises(DataError, match="`z`"):
        validate_table(table_from_events(tiny_hits))


def test_duplicate_event_id(tiny_hits):
    tiny_hits[1]["event_id"] = 0
    with pytest.raises(DataError, match="event_id 0"):
        validate_table(table_from_events(tiny_hits))


def test_float64_beyond_float32_range_is_refused_not_stored_as_inf(tiny_hits):
    x = tiny_hits[1]["x"].astype(np.float64)
    x[2] = 1e40  # finite in the file, infinity once stored as float32
    tiny_hits[1]["x"] = x
    with pytest.raises(DataError, match=r"`x` holds 1e\+40, beyond the float32 range.*units.*scale"):
        validate_table(table_from_events(tiny_hits))


def test_non_finite_float64_gives_the_nan_error_without_a_precision_warning(tiny_hits, caplog):
    x = tiny_hits[1]["x"].astype(np.float64)
    x[4] = np.inf
    tiny_hits[1]["x"] = x
    with caplog.at_level("WARNING"), pytest.raises(DataError, match=r"event_id=1.*`x`.*NaN or infinite.*hit 4"):
        validate_table(table_from_events(tiny_hits))
    assert "precision" not in caplog.text
