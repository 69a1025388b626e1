"""Graph construction learned from truth: module map, edge filter, metric learning, report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

import hepgraph.sources  # noqa: F401
from hepgraph.errors import DataError
from hepgraph.events import table_to_events
from hepgraph.registry import SOURCES
from hepgraph.represent.graph_report import construction_report, event_tensors, labelled_edges
from hepgraph.represent.module_map import ModuleMap, pair_features, truth_segments


@pytest.fixture(scope="module")
def forward():
    src = SOURCES.get("sim-forward-planes")(seed=9, params={"block_size": 24, "tracks_per_collision": 12,
                                                            "collisions": 2})
    evs = table_to_events(pa.concat_tables([t for task in src.plan(24) for t in src.read(task)]))
    return evs, src.info().extra["tracker_geometry"]


def test_pair_features_by_hand():
    a = torch.tensor([[10.0, 0.0, 100.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 20.0, 150.0]], dtype=torch.float64)
    f = pair_features(a, b)[0]
    assert f[0] == pytest.approx(np.pi / 2) and f[1] == 50.0 and f[2] == 10.0
    assert f[3] == pytest.approx(100.0 - 10.0 * 50.0 / 10.0)          # line through both hits at r = 0


def test_truth_segments_in_vertex_distance_order():
    order = np.array([3.0, 1.0, 2.0, 0.5, 9.0])
    track = np.array([4, 4, 4, -1, 7])
    seg = truth_segments(order, track, skip=0)
    assert sorted(map(tuple, seg.T.tolist())) == [(1, 2), (2, 0)]
    assert truth_segments(order, track, skip=1).shape[1] == 3


@pytest.mark.slow
def test_module_map_keeps_the_true_segments_of_held_out_events(forward):
    evs, geo = forward
    mm = ModuleMap.fit(evs[:18], geo)
    assert mm.fitted and mm.layer_columns == ("layer",)
    rep = construction_report(lambda e: mm(*_inputs(mm, e)), evs[18:])
    assert rep["edge_efficiency"] > 0.95 and rep["track_ceiling"] > 0.9       # 18 training events only
    assert rep["edge_purity"] > 0.02 and rep["edges_per_hit"] < 40


def _inputs(mm, ev):
    pos, key = event_tensors(ev, mm.layer_columns)
    return pos, torch.tensor([0, pos.shape[0]]), key


def test_module_map_works_without_layer_ids_and_survives_a_state_dict_round_trip(forward):
    evs, _ = forward
    stripped = [{k: v for k, v in e.items() if k not in ("layer", "module")} for e in evs]
    mm = ModuleMap.fit(stripped[:18], None)
    assert mm.layer_columns == () and mm.surfaces.shape[0] >= 20       # planes found in the hits
    edges = mm(*_inputs(mm, stripped[20]))
    fresh = ModuleMap()
    fresh.load_state_dict(mm.state_dict())
    assert torch.equal(fresh(*_inputs(fresh, stripped[20])), edges)
    assert fresh.layer_columns == ()


def test_module_map_batches_like_single_events(forward):
    evs, geo = forward
    mm = ModuleMap.fit(evs[:18], geo)
    parts = [_inputs(mm, e) for e in evs[18:21]]
    pos = torch.cat([p for p, _, _ in parts])
    key = torch.cat([k for _, _, k in parts])
    sizes = [p.shape[0] for p, _, _ in parts]
    ptr = torch.tensor([0, *np.cumsum(sizes).tolist()])
    whole = mm(pos, ptr, key)
    single = torch.cat([mm(*p) + int(ptr[i]) for i, p in enumerate(parts)], 1)
    key_w = set(map(tuple, whole.T.tolist()))
    assert key_w == set(map(tuple, single.T.tolist()))


def test_module_map_needs_truth():
    with pytest.raises(DataError, match="track_id"):
        ModuleMap.fit([{"x": np.zeros(3), "y": np.zeros(3), "z": np.arange(3.0)}], None)


@pytest.mark.slow
def test_edge_filter_keeps_the_requested_share_of_true_edges(forward):
    from hepgraph.represent.edge_filter import EdgeFilter

    evs, geo = forward
    mm = ModuleMap.fit(evs[:18], geo)
    build = lambda p, ptr, k: mm(p, ptr, k)                             # noqa: E731
    train = [labelled_edges(build, e, mm.layer_columns) for e in evs[:18]]
    held = [labelled_edges(build, e, mm.layer_columns) for e in evs[18:]]
    flt = EdgeFilter(hidden_channels=16)
    stats = flt.fit(train, held, keep=0.99, epochs=3)
    assert stats["edge_efficiency"] >= 0.985                           # quantile of ~100 true edges
    before = sum(int(t.sum()) for _, _, t in held) / sum(t.numel() for _, _, t in held)
    assert stats["edges_after"] < stats["edges_before"] and stats["edge_purity"] > before - 0.01
    pos, ei, _ = held[0]
    kept = flt.select(pos, ei)
    assert kept.shape[1] <= ei.shape[1]


@pytest.mark.slow
def test_metric_learning_radius_graph(forward):
    from hepgraph.represent.metric_graph import MetricGraph

    evs, _ = forward
    mg = MetricGraph.fit(evs[:18], held_out=evs[18:], epochs=3, efficiency=0.95, hidden_channels=32)
    assert mg.fitted and float(mg.radius) > 0
    rep = construction_report(lambda e: mg(*_inputs(mg, e)), evs[18:])
    assert rep["edge_efficiency"] > 0.85 and rep["edges_per_hit"] <= 32
    fresh = MetricGraph(hidden_channels=32)
    fresh.load_state_dict(mg.state_dict())
    assert float(fresh.radius) == float(mg.radius)


def test_event_vertex_per_hit_and_events_without_particles(forward):
    from hepgraph.represent.module_map import event_vertex

    ev = {"track_id": np.array([7, -1, 3, 7, 9]), "particle_id": np.array([3, 7]),
          "particle_vx": np.array([1.0, 2.0]), "particle_vy": np.array([0.0, 0.5]), "particle_vz": np.array([-4.0, 8.0])}
    v = event_vertex(ev)
    np.testing.assert_array_equal(v[[0, 3]], [[2.0, 0.5, 8.0]] * 2)
    np.testing.assert_array_equal(v[2], [1.0, 0.0, -4.0])
    assert np.isnan(v[[1, 4]]).all()                         # noise, and a hit of an unlisted particle
    empty = {**ev, "track_id": np.array([-1, -1]), **{k: np.zeros(0) for k in ev if k.startswith("particle_")}}
    assert np.isnan(event_vertex(empty)).all() and event_vertex(empty).shape == (2, 3)
    # a training split with events of noise only (no particles) still fits
    evs, geo = forward
    noise_only = {k: (np.asarray(v)[:0] if k.startswith("particle_") else v) for k, v in evs[1].items()}
    noise_only["track_id"] = np.full_like(evs[1]["track_id"], -1)
    assert ModuleMap.fit([noise_only, *evs[:6]], geo).fitted
