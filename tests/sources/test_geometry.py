"""Tracker geometry from hits: surfaces found, classified and assigned; the field from truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import hepgraph.sources  # noqa: F401
from hepgraph.events import geometry as tg
from hepgraph.events import table_to_events
from hepgraph.registry import SOURCES
from hepgraph.sources.field import estimate_field


def simulated(name, n=4, **params):
    src = SOURCES.get(name)(seed=5, params={"block_size": n, **params})
    return table_to_events(pa.concat_tables([t for task in src.plan(n) for t in src.read(task)])), src


def stack(evs):
    pos = np.concatenate([np.stack([np.asarray(e[c], np.float64) for c in "xyz"], 1) for e in evs])
    layer = np.concatenate([np.asarray(e["layer"]) for e in evs])
    return pos, layer


def _where(s):
    return (s["kind"], round(s["z"] if s["kind"] == "plane" else s["r"], 1))


@pytest.mark.parametrize("name", ["sim-forward-planes", "sim-silicon-barrel"])
def test_surfaces_found_without_layer_ids_match_the_simulated_ones(name):
    evs, src = simulated(name)
    pos, layer = stack(evs)
    found = tg.find_surfaces(pos)
    truth = {s["layer"]: s for s in src.geometry()["surfaces"]}
    held = np.bincount(layer, minlength=len(truth)) / layer.size
    # every surface holding >= 1 % of the hits is found, nothing else is
    want = sorted(_where(truth[k]) for k in truth if held[k] >= 0.01)
    got = sorted(_where(s) for s in found)
    assert set(want) <= set(got) and set(got) <= {_where(s) for s in truth.values()}
    # every hit goes back to its own surface
    idx = tg.assign_surfaces(pos, found)
    got_where = np.array([hash(_where(found[i])) for i in range(len(found))])[idx]
    want_where = np.array([hash(_where(truth[k])) for k in range(len(truth))])[layer]
    in_found = np.isin(want_where, got_where)
    assert (got_where == want_where)[in_found].mean() == 1.0


def test_describe_surfaces_classifies_by_spread():
    pos = np.array([[10.0, 0, -50], [0, 10.0, 50], [5.0, 0, 300], [0, 30.0, 300]])
    key = np.array([4, 4, 9, 9])
    out = tg.describe_surfaces(pos, key)
    assert [s["kind"] for s in out] == ["cylinder", "plane"]
    assert out[0]["r"] == pytest.approx(10.0) and out[1]["z"] == pytest.approx(300.0)
    assert tg.assign_surfaces(np.array([[0.0, 11.0, 0.0], [20.0, 0, 299.0]]), out).tolist() == [0, 1]


def test_layer_key_combines_columns():
    ev = {"hit_volume": np.array([7, 8]), "layer": np.array([2, 2])}
    k = tg.layer_key(ev, ["hit_volume", "layer"])
    assert k.tolist() == [7 * tg.KEY_STRIDE + 2, 8 * tg.KEY_STRIDE + 2]
    assert tg.layer_key(ev, ["module"]) is None


@pytest.mark.parametrize("field", [0.0, 0.5, 2.0])
def test_field_from_truth_tracks(field):
    evs, _ = simulated("sim-silicon-barrel", n=1, field_T=field, tracks_per_collision=30)
    assert estimate_field(evs) == pytest.approx(field, abs=0.02)


def test_field_unknown_without_truth():
    assert estimate_field([{"x": np.zeros(3), "y": np.zeros(3)}]) is None
