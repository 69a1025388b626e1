"""sim-pad-tpc: helices in a field along x, resolution, regression targets."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.events import table_to_events, validate_table
from hepgraph.sources.simulate.helix import fit_circle
from hepgraph.sources.simulate.pad_tpc import PadTPC

IDEAL = {"sigma_x": 0.0, "sigma_y": 0.0, "multiple_scattering": False, "efficiency": 1.0}


def simulate(n, seed=0, **params):
    src = PadTPC(seed=seed, params=params)
    return src, table_to_events(validate_table(src.simulate(np.random.default_rng(seed), n, 0)))


def test_circle_fit_in_the_bending_plane_recovers_momentum():
    src, evs = simulate(40, **IDEAL)
    checked = 0
    for ev in evs:
        if len(ev["z"]) < 10:
            continue
        # Field along x: the bending plane is (z, y); R[m] = p_perp / (0.3 B).
        _, _, r = fit_circle(ev["z"].astype(float), ev["y"].astype(float))
        p_perp = np.hypot(ev["py"], ev["pz"])
        assert r / 1000 == pytest.approx(p_perp / (0.299792458 * src.cfg["field_T"]), rel=1e-3)
        checked += 1
    assert checked > 20


def test_targets_match_the_primary_particle():
    _, evs = simulate(20)
    for ev in evs:
        p = np.array([ev["particle_px"][0], ev["particle_py"][0], ev["particle_pz"][0]])
        assert ev["p"] == pytest.approx(np.linalg.norm(p), rel=1e-5)
        assert ev["pt"] == pytest.approx(np.hypot(p[0], p[1]), rel=1e-5)
        assert ev["theta"] == pytest.approx(np.arccos(p[2] / np.linalg.norm(p)), abs=1e-5)
        assert ev["vz"] == pytest.approx(ev["particle_vz"][0])
        assert (np.diff(ev["pad_col"]) > 0).all()


def test_cluster_resolution_equals_sigma():
    _, a = simulate(40, seed=4, **IDEAL)
    _, b = simulate(40, seed=4, **{**IDEAL, "sigma_y": 0.6, "sigma_x": 0.8})
    dy = np.concatenate([eb["y"] - ea["y"] for ea, eb in zip(a, b)])
    dx = np.concatenate([eb["x"] - ea["x"] for ea, eb in zip(a, b)])
    assert np.std(dy) == pytest.approx(0.6, rel=0.05)
    assert np.std(dx) == pytest.approx(0.8, rel=0.05)


def test_bad_parameters():
    with pytest.raises(ConfigError, match="min > max"):
        PadTPC(params={"momentum": [3.0, 1.0]})
    with pytest.raises(ConfigError, match="neutral"):
        PadTPC(params={"species": ["gamma"], "species_weights": [1]})
    with pytest.raises(ConfigError, match="positive"):
        PadTPC(params={"pad_cols": 0})


def test_vertex_inside_the_chamber_starts_the_track_there():
    src, evs = simulate(60, seed=3, vertex_box=[[-100, 100], [-50, 50], [-600, -200]], efficiency=1.0)
    zc = src.extent[2][0] + (np.arange(src.cfg["pad_cols"]) + 0.5) * src.cfg["pad_width"]
    seen = 0
    for ev in evs:
        if not len(ev["z"]):
            continue
        first = int(np.searchsorted(zc, ev["vz"], side="right"))   # first column ahead of the vertex
        assert ev["z"].min() > ev["vz"] and ev["pad_col"][0] == first
        assert (np.diff(ev["pad_col"]) == 1).all()                    # no gaps at efficiency 1
        seen += 1
    assert seen > 50


def test_bending_plane_targets():
    _, evs = simulate(30, seed=5)
    for ev in evs:
        px, py, pz = ev["particle_px"][0], ev["particle_py"][0], ev["particle_pz"][0]
        q = ev["particle_q"][0]
        assert ev["p_perp"] == pytest.approx(np.hypot(py, pz), rel=1e-5)
        assert ev["q_p_perp"] == pytest.approx(q * np.hypot(py, pz), rel=1e-5)
        assert ev["sin_phi"] == pytest.approx(py / np.hypot(px, py), rel=1e-4, abs=1e-6)
