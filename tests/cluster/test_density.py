from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import hepgraph.cluster  # noqa: F401
from hepgraph.errors import ConfigError, DataError
from hepgraph.cluster.density import DBSCANClusterer
from hepgraph.registry import CLUSTERERS

sys.path.insert(0, str(Path(__file__).parent))
from _tracks import curved_event, forward_event, same_partition, straight_event  # noqa: E402


@pytest.mark.parametrize("cfg", [
    {"name": "dbscan", "space": "xyz", "eps": 150.0, "min_samples": 2},
    {"name": "dbscan", "space": "direction", "eps": 0.01},
    {"name": "hdbscan", "space": "direction", "min_samples": 2, "min_probability": 0.01},
    {"name": "hdbscan", "space": "xyz", "min_samples": 2},
])
def test_straight_tracks_recovered_exactly(cfg):
    ev = straight_event()
    lab = CLUSTERERS.build(cfg).cluster(ev)
    assert lab.dtype == np.int64 and lab.shape == ev["track_id"].shape
    assert same_partition(lab, ev["track_id"])
    assert set(lab[lab >= 0].tolist()) == set(range(5))


def test_helix_space_unrolls_curved_tracks():
    ev = curved_event(field=1.0)
    kappas = [k * 1e-4 for k in range(-4, 5)]
    c = CLUSTERERS.build({"name": "dbscan", "space": "helix", "curvature": kappas, "eps": 0.02,
                          "min_samples": 2})
    assert same_partition(c.cluster(ev), ev["track_id"])


def test_empty_event_gets_no_tracks():
    ev = {"x": np.zeros(0), "y": np.zeros(0), "z": np.zeros(0)}
    for name in ("dbscan", "hdbscan"):
        assert CLUSTERERS.build(name).cluster(ev).shape == (0,)


def test_detector_defaults_and_errors():
    c = CLUSTERERS.build({"name": "dbscan", "detector": "trackml"})
    assert c.space == "helix" and c.eps == 0.02 and len(c.curvature) == 13
    assert CLUSTERERS.build({"name": "dbscan", "detector": "trackml", "eps": 0.5}).eps == 0.5
    with pytest.raises(ConfigError, match="sim-drift-chamber"):
        CLUSTERERS.build({"name": "dbscan", "detector": "nope"})
    with pytest.raises(ConfigError, match="space"):
        CLUSTERERS.build({"name": "dbscan", "space": "polar"})
    with pytest.raises(DataError, match="positions"):
        CLUSTERERS.build("dbscan").cluster({"charge": np.ones(3)})
    with pytest.raises(DataError, match="embedding"):
        CLUSTERERS.build({"name": "dbscan", "space": "embedding"}).cluster(straight_event())


def test_embedding_space():
    ev = straight_event(noise=False)
    emb = np.eye(5)[ev["track_id"]] * 10 + np.random.default_rng(0).normal(0, 0.01, (len(ev["x"]), 5))
    lab = CLUSTERERS.build({"name": "dbscan", "space": "embedding", "eps": 0.5}).cluster(ev, embedding=emb)
    assert same_partition(lab, ev["track_id"])


def test_direction_space_scans_vertices_along_the_beam():
    """Straight tracks from vertices at several z: one direction per track only from its vertex."""
    ev = forward_event([(0.3, 0.05, -80.0), (0.3, 0.03, 60.0), (2.0, 0.04, 0.0), (-1.5, 0.06, 30.0)])
    z0 = [float(v) for v in np.linspace(-100, 100, 21)]
    lab = DBSCANClusterer(space="direction", z0=z0, eps=0.002, min_samples=2).cluster(ev)
    assert same_partition(lab, ev["track_id"])
    one = DBSCANClusterer(space="direction", z0=0.0, eps=0.002, min_samples=2).cluster(ev)
    assert not same_partition(one, ev["track_id"])


def _optical_event(offset: float) -> dict:
    """Two muons through a lattice of optical modules 2.5 m apart, 100 m from the origin (mm)."""
    s = np.arange(0.0, 30000.0, 2500.0)
    a = np.stack([s, 0.6 * s, 0.8 * s], 1)
    b = np.stack([s, 40000.0 - 0.5 * s, np.full_like(s, 20000.0)], 1)
    pos = np.concatenate([a, b]) + offset
    return {"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2],
            "track_id": np.repeat([1, 2], len(s)).astype(np.int64)}


def test_dbscan_eps_comes_from_the_hit_spacing_of_a_metre_scale_detector():
    from hepgraph.cluster.density import spacing_eps
    from hepgraph.cluster.learned import build_clusterer

    labels = []
    for off in (0.0, 1e5):
        events = [_optical_event(off)] * 3
        eps = spacing_eps(events, 3)
        # 2nd neighbours: 20 interior hits at the module step (3.54 m on track a, 2.80 m on b), 4 ends
        # at twice it; the 75th percentile is a's step, and eps twice that
        assert eps == pytest.approx(2 * 2500.0 * np.sqrt(2.0), rel=1e-3)
        c = build_clusterer("dbscan", {}, manifest={"source": {"name": "csv"}}, events=events)
        assert c.eps == eps
        lab = c.cluster(events[0])
        assert same_partition(lab, events[0]["track_id"])
        labels.append(lab)
    np.testing.assert_array_equal(labels[0], labels[1])
    # the old fixed 20 mm found nothing here; a given eps or a simulator's defaults still win
    assert (build_clusterer("dbscan", {"eps": 20.0}, events=events).cluster(events[0]) < 0).all()
    assert build_clusterer("dbscan", {}, manifest={"source": {"name": "sim-lartpc"}}, events=events).eps == 10.0
    assert spacing_eps([{"x": [1.0], "y": [2.0], "z": [3.0]}]) is None  # one hit: no spacing


def test_helix_space_is_constant_along_a_helix():
    """On a helix from (0, 0, z0) the azimuth at the origin and dz/ds (s: transverse arc
    length) are the same for every hit, also where the track has turned by ~90°."""
    from hepgraph.cluster.density import hit_space

    kappa, phi0, cot_theta, z0 = 2.0e-3, 0.7, 1.3, -40.0          # 1/mm, rad, -, mm
    s = np.linspace(30.0, 900.0, 12)                                 # arc length, mm
    r = 2 * np.sin(kappa * s / 2) / kappa                            # chord from the origin
    pos = np.stack([r * np.cos(phi0 - kappa * s / 2), r * np.sin(phi0 - kappa * s / 2), z0 + cot_theta * s], 1)
    x = hit_space(pos, "helix", curvature=kappa, z0=z0, z_scale=1.0)
    np.testing.assert_allclose(x, np.tile([np.cos(phi0), np.sin(phi0), cot_theta], (len(s), 1)), atol=1e-9)


class _Scripted(DBSCANClusterer):
    """A clusterer whose per-scan-point labels are given, to test how a scan becomes tracks."""

    def __init__(self, scripted: list[list[int]], **kw):
        super().__init__(space="direction", z0=[float(i) for i in range(len(scripted))], **kw)
        self.scripted = [np.asarray(s) for s in scripted]
        self.calls = 0

    def _labels(self, x):
        out = self.scripted[self.calls % len(self.scripted)]
        self.calls += 1
        return out


def test_scan_keeps_whole_clusters_largest_first():
    ev = {"x": np.arange(10.0) + 1, "y": np.zeros(10), "z": np.zeros(10)}
    scan = [
        [0, 0, 0, 0, 0, 0, 1, 1, 1, -1],        # a 6-hit and a 3-hit cluster
        [-1, -1, -1, 0, 0, 0, 0, 0, 0, 0],      # 7 hits: taken first
        [1, 1, 1, -1, -1, 2, 2, 2, 2, -1],      # the 3 hits 7 left free, and a 4-hit cluster with 1 free
    ]
    lab = _Scripted(scan, min_samples=1, eps=1.0, select="track").cluster(ev)
    # largest first: [3..9] (7), then [0..5] keeps its free hits 0,1,2 (3 of 6: half); [5..8]
    # and the 3-hit clusters have no free hit left
    assert same_partition(lab, np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]))
    per_hit = _Scripted(scan, min_samples=1, eps=1.0, select="hit").cluster(ev)
    # each hit keeps its largest cluster: 0-2 the 6-hit one, 3-9 the 7-hit one
    assert same_partition(per_hit, np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]))
    big = _Scripted(scan, min_samples=1, eps=1.0, max_hits=6).cluster(ev)
    # without the 7-hit cluster: [0..5] first, then [5..8] keeps 6,7,8 (3 of 4 free)
    assert same_partition(big, np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, -1]))
    with pytest.raises(ConfigError, match="select"):
        DBSCANClusterer(select="best")


def test_slope_space_holds_parallel_tracks_wherever_they_are():
    from _tracks import telescope_event

    tracks = [(-5.0, 2.0, 0.01, 0.0), (-4.2, 2.0, -0.01, 0.0), (3.0, -1.0, 0.0, 0.02), (3.5, -1.5, 0.0, 0.02)]
    ev = telescope_event(tracks)
    # the first two cross at z = 40 mm, between planes, and are 10 mm apart at the far ones
    slopes = [[0.01, 0.0], [-0.01, 0.0], [0.0, 0.02]]
    lab = DBSCANClusterer(space="slope", slope=slopes, eps=0.1, min_samples=2).cluster(ev)
    assert same_partition(lab, ev["track_id"])
    with pytest.raises(ConfigError, match="slope"):
        DBSCANClusterer(space="slope", slope=[0.1, 0.2, 0.3])
