"""Silicon pixel trackers (sim-forward-planes, sim-silicon-barrel) against physics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import hepgraph.sources  # noqa: F401 - fills SOURCES
from hepgraph.constants import C_CURV
from hepgraph.errors import ConfigError
from hepgraph.events import table_to_events
from hepgraph.registry import SOURCES
from hepgraph.sources.simulate.helix import fit_circle
from hepgraph.sources.simulate.pixels import Clusters, merge

CLEAN = {"x_over_x0": 0.0, "secondaries": {"rate": 0.0}, "noise_fraction": 0.0, "efficiency": 1.0,
         "pitch": [0.001, 0.001], "collisions": 1, "tracks_per_collision": 30, "block_size": 4}


def events(name: str, n: int = 4, seed: int = 0, **params):
    src = SOURCES.get(name)(seed=seed, params={**CLEAN, **params})
    return table_to_events(pa.concat_tables([t for task in src.plan(n) for t in src.read(task)])), src


def tracks(ev, min_hits=3):
    t = np.asarray(ev["track_id"])
    pid = np.asarray(ev["particle_id"])
    for p in np.unique(t[t >= 0]):
        m = t == p
        if m.sum() >= min_hits:
            yield m, int(np.flatnonzero(pid == p)[0])


def test_straight_lines_at_zero_field_point_back_to_their_vertex():
    evs, _ = events("sim-forward-planes", field_T=0.0)
    n = 0
    for ev in evs:
        pos = np.stack([np.asarray(ev[c], np.float64) for c in "xyz"], 1)
        for m, i in tracks(ev):
            v = np.array([ev["particle_vx"][i], ev["particle_vy"][i], ev["particle_vz"][i]], np.float64)
            d = np.array([ev["particle_px"][i], ev["particle_py"][i], ev["particle_pz"][i]], np.float64)
            d /= np.linalg.norm(d)
            rel = pos[m] - v
            off = rel - np.outer(rel @ d, d)                 # distance of each hit from the line
            assert np.abs(off).max() < 0.01                  # 1 um pixels, float32 positions
            assert (rel @ d > 0).all()                       # hits lie ahead of the vertex
            n += 1
    assert n > 50


@pytest.mark.parametrize("field", [0.5, 2.0])
def test_curvature_radius_is_pt_over_0p3_b(field):
    evs, _ = events("sim-forward-planes", field_T=field, momentum=[0.5, 3.0], momentum_is="pt",
                    eta=[2.0, 2.6])
    ratio = []
    for ev in evs:
        for m, i in tracks(ev, min_hits=5):
            pt = np.hypot(ev["particle_px"][i], ev["particle_py"][i])
            _, _, r = fit_circle(np.asarray(ev["x"], np.float64)[m], np.asarray(ev["y"], np.float64)[m])
            ratio.append(r / (pt / (C_CURV * field) * 1000.0))
    assert len(ratio) > 30
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)


def _expected_hits(ev, i, surfaces):
    """Disks crossed by a straight line from the particle's vertex within their radial extent."""
    v = np.array([ev["particle_vx"][i], ev["particle_vy"][i], ev["particle_vz"][i]], np.float64)
    p = np.array([ev["particle_px"][i], ev["particle_py"][i], ev["particle_pz"][i]], np.float64)
    s = (surfaces.disk_z - v[2]) / p[2]
    pts = v[None, :2] + s[:, None] * p[None, :2]
    r = np.hypot(pts[:, 0], pts[:, 1])
    return int(((s > 0) & (r >= surfaces.disk_rmin) & (r <= surfaces.disk_rmax)).sum())


def test_hit_count_per_particle_is_the_number_of_planes_it_crosses():
    evs, src = events("sim-forward-planes", field_T=0.0)
    surf = src.surfaces
    got, want = [], []
    for ev in evs:
        for i, nh in enumerate(np.asarray(ev["particle_nhits"])):
            got.append(nh)
            want.append(_expected_hits(ev, i, surf))
    got, want = np.asarray(got), np.asarray(want)
    assert (got == want).mean() > 0.99                        # merged clusters take the rest
    layer = np.concatenate([np.asarray(ev["layer"]) for ev in evs])
    assert set(np.unique(layer)) <= set(range(surf.size))


def test_efficiency_noise_and_secondaries():
    evs, src = events("sim-forward-planes", n=8, efficiency=0.9, noise_fraction=0.2,
                      secondaries={"rate": 0.5}, field_T=0.0)
    surf = src.surfaces
    got = want = 0
    noise = hits = 0
    for ev in evs:
        tid = np.asarray(ev["track_id"])
        noise += int((tid < 0).sum())
        hits += tid.size
        vz = np.asarray(ev["particle_vz"])
        for i in range(len(vz)):
            if abs(vz[i]) < 200 and np.hypot(ev["particle_vx"][i], ev["particle_vy"][i]) < 1.0:
                got += int(ev["particle_nhits"][i])
                want += _expected_hits(ev, i, surf)
    assert got / want == pytest.approx(0.9, abs=0.02)
    assert noise / hits == pytest.approx(0.2, abs=0.02)
    r_vtx = np.concatenate([np.hypot(np.asarray(e["particle_vx"]), np.asarray(e["particle_vy"])) for e in evs])
    assert (r_vtx > 5.0).sum() > 20                           # secondaries start on a sensor


def test_touching_clusters_on_one_module_merge():
    z = np.zeros(3, np.int64)
    cl = Clusters(event=z, surface=z, module=np.array([0, 0, 1]), iu0=np.array([10, 12, 10]),
                  iu1=np.array([11, 13, 11]), iv0=np.array([5, 6, 5]), iv1=np.array([5, 6, 5]),
                  charge=np.array([1.0, 3.0, 1.0], np.float32), truth=np.array([7, 8, 9]),
                  ncells=np.array([2, 2, 2]))
    m = merge(cl)
    assert m.event.size == 2                                  # the third is on another module
    row = int(np.flatnonzero(m.module == 0)[0])
    assert (m.iu0[row], m.iu1[row], m.iv0[row], m.iv1[row]) == (10, 13, 5, 6)
    assert m.truth[row] == 8 and m.charge[row] == pytest.approx(4.0)


def test_barrel_preset_records_its_geometry_and_hits_lie_on_it():
    evs, src = events("sim-silicon-barrel", n=2)
    info = src.info()
    geo = info.extra["tracker_geometry"]
    assert info.extra["field_T"] == 2.0
    kinds = {s["kind"] for s in geo["surfaces"]}
    assert kinds == {"cylinder", "plane"} and geo["layer_columns"] == ["layer"]
    by_layer = {s["layer"]: s for s in geo["surfaces"]}
    for ev in evs:
        x, y, z = (np.asarray(ev[c], np.float64) for c in "xyz")
        for lay in np.unique(ev["layer"]):
            m = np.asarray(ev["layer"]) == lay
            s = by_layer[int(lay)]
            if s["kind"] == "cylinder":
                np.testing.assert_allclose(np.hypot(x[m], y[m]), s["r"], atol=1e-3)
            else:
                np.testing.assert_allclose(z[m], s["z"], atol=1e-3)


def test_bad_parameters():
    with pytest.raises(ConfigError, match="no surfaces"):
        SOURCES.get("sim-forward-planes")(params={"disks": []})
    with pytest.raises(ConfigError, match="r_min < r_max"):
        SOURCES.get("sim-forward-planes")(params={"disks": [[0, 5, 1]]})
    with pytest.raises(ConfigError, match="momentum_is"):
        SOURCES.get("sim-silicon-barrel")(params={"momentum_is": "e"})
