"""Settings search on validation events, the settings file, and a run's calibration."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import hepgraph.cluster  # noqa: F401
from hepgraph.cluster.graph import GNNClusterer
from hepgraph.cluster.tune import default_space, objective, read_settings, search, write_settings
from hepgraph.errors import ConfigError, OutputExistsError
from hepgraph.registry import CLUSTERERS

sys.path.insert(0, str(Path(__file__).parent))
from _tracks import curved_event, forward_event, straight_event, telescope_event, two_tracks_with_a_gap  # noqa: E402


def test_search_finds_the_eps_that_separates_the_tracks():
    events = [straight_event(), straight_event(n_tracks=4)]
    best, m, table = search(events, lambda o: CLUSTERERS.build({"name": "dbscan", "min_samples": 2, **o}),
                            {"eps": [1.0, 150.0, 5000.0]})
    assert best == {"eps": 150.0} and m["efficiency"] == 1.0 and m["fake_rate"] == 0.0
    assert len(table) == 3 and table[0]["metrics"]["efficiency"] == 0.0     # eps 1 mm: nothing


def test_random_sample_beyond_trials_and_invalid_combinations_skipped():
    events = [straight_event()]
    space = {"eps": [-1.0, 100.0, 150.0, 200.0, 300.0], "min_samples": [1, 2, 3, 4]}
    _, _, table = search(events, lambda o: CLUSTERERS.build({"name": "dbscan", **o}), space, trials=6, seed=1)
    assert 0 < len(table) <= 6 and all(t["options"]["eps"] > 0 for t in table)
    with pytest.raises(ConfigError, match="could be built"):
        search(events, lambda o: CLUSTERERS.build({"name": "dbscan", **o}), {"eps": [-1.0]})
    with pytest.raises(ConfigError, match="validation events"):
        search([], lambda o: None, {"eps": [1.0]})


def test_objective_prefers_efficiency_minus_fakes_then_score():
    assert objective({"efficiency": 0.9, "fake_rate": 0.0}) > objective({"efficiency": 0.95, "fake_rate": 0.1})
    assert objective({"efficiency": float("nan"), "fake_rate": 0.0})[0] == -2.0


def test_settings_file_round_trip_and_refusal(tmp_path):
    p = write_settings(tmp_path / "s.yaml", "hough", {"n_phi": np.int64(512)}, {"efficiency": np.float64(0.9)})
    assert read_settings(p) == ("hough", {"n_phi": 512})
    assert yaml.safe_load(p.read_text())["validation"]["efficiency"] == 0.9
    with pytest.raises(OutputExistsError):
        write_settings(p, "hough", {}, {})
    (tmp_path / "bad.yaml").write_text("method: hough\noptions: [1, 2]\n")
    with pytest.raises(ConfigError, match="options"):
        read_settings(tmp_path / "bad.yaml")


def test_default_spaces_follow_the_field():
    straight = default_space("hough", {"extra": {"field_T": 0.0, "luminous_region": {"sigma": [0, 0, 40.0]}}})
    assert straight["field_T"] == [0.0] and 120.0 in straight["z0_max"] and "pt_min" not in straight
    curved = default_space("dbscan", {"extra": {"field_T": 2.0}})
    kmax = 0.299792458 * 2.0 / 0.3 / 1000          # 1/mm: p_T >= 0.3 GeV in 2 T, R = p_T / (0.3 B)
    assert curved["space"] == ["helix"] and max(max(c) for c in curved["curvature"]) == pytest.approx(kmax, rel=1e-6)
    assert default_space("dbscan", {"extra": {"field_T": 0.0}})["space"] == ["direction"]
    with pytest.raises(ConfigError, match="default search space"):
        default_space("gnn", {})


def test_without_a_recorded_field_the_curvature_range_is_measured_on_truth():
    """No `field_T` in the manifest: the space covers the curvatures of the validation
    particles (here 0.8-3 GeV in 1 T, the smallest p_T sets the range), not an assumed field."""
    events = [curved_event(field=1.0)]
    with pytest.raises(ConfigError, match="no magnetic field"):
        default_space("dbscan", {"extra": {}})
    from hepgraph.cluster.fit import truth_curvature

    k = truth_curvature(events, quantile=1.0)
    assert k == pytest.approx(0.299792458 * 1.0 / 0.8 / 1000, rel=1e-6)
    dbscan = default_space("dbscan", {"extra": {}}, events)
    assert dbscan["space"] == ["helix"]
    assert max(max(c) for c in dbscan["curvature"]) == pytest.approx(truth_curvature(events), rel=1e-6)
    hough = default_space("hough", {"extra": {}}, events)
    assert "pt_min" not in hough and truth_curvature(events) * 2 == pytest.approx(max(hough["kappa_max"]))
    from hepgraph.cluster.learned import build_clusterer

    small = {**hough, "n_phi": [512], "n_kappa": [64], "n_z0": [16]}
    best, m, _ = search(events, lambda o: build_clusterer("hough", o, manifest={"extra": {}}), small, trials=8)
    assert m["efficiency"] == 1.0 and "field_T" not in best                 # no field needed
    # straight tracks (no field, unknown to the manifest): the straight-line spaces
    straight = [forward_event([(0.3, 0.05, -80.0), (2.0, 0.04, 0.0)])]
    assert default_space("dbscan", {"extra": {}}, straight)["space"] == ["direction"]
    assert default_space("hough", {"extra": {}}, straight)["field_T"] == [0.0]


class _Chain(torch.nn.Module):
    """Edges 0->1->2->3 with scores high, 3->4 low: the calibration must cut 3->4."""

    graph_report = {"edge_efficiency": 1.0}

    def forward(self, batch):
        n = batch.pos.shape[0]
        e = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
        logits = torch.full((n - 1, 1), 4.0)
        logits[-1] = -0.3
        return {"out": logits, "edge_index": e}


def test_calibration_chooses_on_validation_and_writes_cluster_yaml(tmp_path, monkeypatch):
    from hepgraph.cluster import calibrate, learned

    monkeypatch.setattr(learned, "load_run", lambda run, device="cpu": (_Chain(), None, "edge-classification"))
    ev = {"event_id": 0, "x": np.arange(5.0, dtype=np.float32), "y": np.zeros(5, np.float32),
          "z": np.zeros(5, np.float32), "track_id": np.array([1, 1, 1, 1, -1])}
    res = calibrate.calibrate_run(tmp_path, [ev, {**ev, "event_id": 1}], max_events=2)
    assert res["metrics"]["efficiency"] == 1.0 and res["metrics"]["fake_rate"] == 0.0
    assert res["options"]["threshold"] >= 0.5 - 1e-9 or res["options"]["mode"] != "components"
    method, opts = read_settings(tmp_path / "cluster.yaml")
    assert method == "gnn" and opts == res["options"]
    assert yaml.safe_load((tmp_path / "cluster.yaml").read_text())["graph"] == {"edge_efficiency": 1.0}
    # events of one particle each: more than max_events are used, up to 20 x as many
    many = [{**ev, "event_id": i} for i in range(50)]
    calibrate.calibrate_run(tmp_path, many, max_events=2)
    assert yaml.safe_load((tmp_path / "cluster.yaml").read_text())["chosen_on"]["events"] == 40
    monkeypatch.setattr(calibrate, "MIN_PARTICLES", 5)
    calibrate.calibrate_run(tmp_path, many, max_events=2)
    assert yaml.safe_load((tmp_path / "cluster.yaml").read_text())["chosen_on"]["events"] == 5


def test_search_says_why_no_combination_could_be_built():
    def build(o):
        raise ConfigError(f"`eps` must be a positive number, got `{o['eps']}`")

    with pytest.raises(ConfigError, match=r"could be built; the first failed with: `eps` must be .* `-1`"):
        search([straight_event()], build, {"eps": [-1, -2]})


def test_settings_file_refuses_keys_it_would_ignore(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("method: dbscan\neps: 0.1\noptions: {min_samples: 2}\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key\(s\) `eps` .*go under `options:`"):
        read_settings(p)
    write_settings(tmp_path / "w.yaml", "dbscan", {"eps": 0.1}, {"efficiency": 1.0}, extra={"chosen_on": {"events": 3}})
    assert read_settings(tmp_path / "w.yaml") == ("dbscan", {"eps": 0.1})


def _beam(seed=0, n=12, spread=0.0):
    """A test-beam telescope: parallel tracks 1-8 mm from the axis, slopes about (2, -1) mrad."""
    rng = np.random.default_rng(seed)
    tracks = [(rng.uniform(-8, 8), rng.uniform(-8, 8), 2e-3 + rng.normal(0, spread), -1e-3 + rng.normal(0, spread))
              for _ in range(n)]
    return telescope_event(tracks), tracks


def test_truth_lines_measure_slopes_and_pointing():
    from hepgraph.cluster.fit import truth_lines

    ev, tracks = _beam()
    lines = truth_lines([ev], z_range=(-150.0, 150.0))
    np.testing.assert_allclose(lines["tx"], [t[2] for t in tracks], atol=1e-12)
    np.testing.assert_allclose(lines["ty"], [t[3] for t in tracks], atol=1e-12)
    assert (lines["pointing"] > 0.005).all()                    # mm off the axis where vertices may be
    fwd = forward_event([(0.3, 0.05, -80.0), (2.0, 0.04, 0.0), (-1.5, 0.06, 30.0)])
    assert truth_lines([fwd])["pointing"].max() < 1e-9          # from vertices on the z axis


def test_tracks_off_the_beam_line_are_tuned_in_the_slope_space():
    """Straight tracks that miss the z axis (a telescope's beam): the direction space from
    vertices on the axis cannot hold them; the tune space is dbscan's slope space."""
    events = [_beam(seed, spread=3e-3)[0] for seed in range(3)]
    space = default_space("dbscan", {"extra": {"field_T": 0.0}}, events)
    assert space["space"] == ["slope"] and [[pytest.approx(2e-3, abs=6e-3), pytest.approx(-1e-3, abs=6e-3)]] in space["slope"]
    with pytest.raises(ConfigError, match="beam line"):
        default_space("hough", {"extra": {"field_T": 0.0}}, events)
    best, metrics, _ = search(events, lambda o: CLUSTERERS.build({"name": "dbscan", **o}), space, trials=30)
    assert metrics["efficiency"] == 1.0 and metrics["fake_rate"] == 0.0
    assert best["space"] == "slope"
    # no field recorded, 5 um resolution: a transverse projection 1 mm long shows no bend to
    # measure, the 3D curvature says straight
    rng = np.random.default_rng(5)
    noisy = [{**e, "x": e["x"] + rng.normal(0, 5e-3, e["x"].size), "y": e["y"] + rng.normal(0, 5e-3, e["y"].size)}
             for e in events]
    assert default_space("dbscan", {"extra": {}}, noisy)["space"] == ["slope"]
    # tracks from the beam line keep the direction space
    fwd = [forward_event([(0.3, 0.05, -80.0), (2.0, 0.04, 0.0)])]
    assert default_space("dbscan", {"extra": {"field_T": 0.0}}, fwd)["space"] == ["direction"]


class _Bowl:
    """Finds the first 10 - d of 10 tracks, d = |a - 7| + |b - 3|: one best setting (7, 3)."""

    def __init__(self, a, b):
        self.d = min(abs(a - 7) + abs(b - 3), 10)

    def cluster(self, ev):
        return np.where(ev["track_id"] < 10 - self.d, ev["track_id"], -1)


def test_search_climbs_to_the_best_setting_beyond_the_random_sample():
    ev = {"track_id": np.repeat(np.arange(10), 5)}
    space = {"a": list(range(12)), "b": list(range(12))}          # 144 combinations
    for seed in range(4):
        best, m, table = search([ev], lambda o: _Bowl(**o), space, trials=40, seed=seed)
        assert best == {"a": 7, "b": 3} and m["efficiency"] == 1.0
        assert len(table) <= 40 and len({(t["options"]["a"], t["options"]["b"]) for t in table}) == len(table)


class _Gapped(torch.nn.Module):
    """The scores of tests/cluster/test_paths.py's two tracks split by weak edges and chained
    through a noise hit: only the path refinement (kink cut + join) rebuilds both tracks."""

    def __init__(self, edges, scores):
        super().__init__()
        self.e, self.s = torch.as_tensor(edges), torch.as_tensor(scores, dtype=torch.float32)

    def forward(self, batch):
        return {"out": torch.logit(self.s).unsqueeze(1), "edge_index": self.e}


def test_calibration_adds_the_path_refinement_when_it_scores_better(tmp_path, monkeypatch):
    from hepgraph.cluster import calibrate, learned
    ev, e, s = two_tracks_with_a_gap()
    model = _Gapped(e, s)
    monkeypatch.setattr(learned, "load_run", lambda run, device="cpu": (model, None, "edge-classification"))
    ev = {**{k: v.astype(np.float32) for k, v in ev.items()}, "event_id": 0,
          "track_id": np.array([0] * 8 + [1] * 8 + [-1])}
    res = calibrate.calibrate_run(tmp_path, [ev], max_events=1)
    assert res["metrics"]["efficiency"] == 1.0 and res["metrics"]["fake_rate"] == 0.0
    assert res["options"]["kink_max"] < 0.6 and "join_threshold" in res["options"]
    method, opts = read_settings(tmp_path / "cluster.yaml")
    assert opts == res["options"]
    # the same settings through the clusterer a run's `hepgraph cluster` builds
    lab = GNNClusterer(**opts).cluster(ev, edge_index=e, scores=s)
    assert len(set(lab[:8])) == 1 and len(set(lab[8:16])) == 1 and lab[0] != lab[8]
