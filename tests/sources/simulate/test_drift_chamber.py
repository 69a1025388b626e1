"""sim-drift-chamber: helices, resolution, efficiency, noise, topologies."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.events import table_to_events, validate_table
from hepgraph.sources.simulate.drift_chamber import DriftChamber
from hepgraph.sources.simulate.helix import fit_circle

IDEAL = {"sigma_rphi": 0.0, "sigma_z": 0.0, "layer_thickness_x0": 0.0, "efficiency": 1.0,
         "noise_rate": 0.0}


def simulate(n, seed=0, **params):
    src = DriftChamber(seed=seed, params=params)
    return src, table_to_events(validate_table(src.simulate(np.random.default_rng(seed), n, 0)))


def test_circle_fit_of_noiseless_hits_recovers_pt():
    src, evs = simulate(20, **IDEAL, vertex_sigma=[0.0, 0.0, 0.0])
    b = src.cfg["field_T"]
    n_checked = 0
    for ev in evs:
        for k, pid in enumerate(ev["particle_id"]):
            sel = ev["track_id"] == pid
            if sel.sum() < 5:
                continue
            _, _, r = fit_circle(ev["x"][sel].astype(np.float64), ev["y"][sel].astype(np.float64))
            pt = np.hypot(ev["particle_px"][k], ev["particle_py"][k])
            assert r / 1000 == pytest.approx(pt / (0.299792458 * b), rel=1e-3)
            n_checked += 1
    assert n_checked > 50


def test_hit_residual_rms_equals_sigma():
    sigma = 0.2
    _, evs_true = simulate(40, seed=1, **{**IDEAL, "noise_rate": 0.0})
    _, evs = simulate(40, seed=1, **{**IDEAL, "sigma_rphi": sigma})
    res = []
    for a, b in zip(evs_true, evs):
        # Same seed: same tracks; the smeared run draws its smearing after propagation.
        dphi = np.angle(np.exp(1j * (np.arctan2(b["y"], b["x"]) - np.arctan2(a["y"], a["x"]))))
        res.append(dphi * np.hypot(a["x"], a["y"]))
    res = np.concatenate(res)
    assert np.sqrt(np.mean(res**2)) == pytest.approx(sigma, rel=0.05)


def test_per_layer_efficiency_and_noise_rate():
    src, evs = simulate(200, seed=2, **{**IDEAL, "efficiency": 0.8, "noise_rate": 0.001})
    _, ref = simulate(200, seed=2, **IDEAL)
    n_sig = sum(int((ev["track_id"] >= 0).sum()) for ev in evs)
    n_ref = sum(int((ev["track_id"] >= 0).sum()) for ev in ref)
    assert n_sig / n_ref == pytest.approx(0.8, abs=0.01)
    n_noise = np.mean([(ev["track_id"] == -1).sum() for ev in evs])
    assert n_noise == pytest.approx(0.001 * src.wires.sum(), rel=0.1)


def test_hits_are_on_layers_and_wires_are_nearest():
    src, evs = simulate(5, **IDEAL)
    radii, nw = src.radii, src.wires
    for ev in evs:
        r = np.hypot(ev["x"], ev["y"])
        np.testing.assert_allclose(r, radii[ev["layer"]], rtol=1e-5)
        assert (ev["wire"] >= 0).all() and (ev["wire"] < nw[ev["layer"]]).all()
        assert (ev["drift_radius"] <= src.cfg["cell_size"] * 0.75).all()


def test_topology_classes_give_labels():
    src, evs = simulate(30, classes=["pipiee", "mumumumu"])
    info = src.info()
    assert info.label_names == ["pipiee", "mumumumu"] and info.default_task == "classification"
    for ev in evs:
        want = {0: [-211, -11, 11, 211], 1: [-13, -13, 13, 13]}[ev["label"]]
        assert sorted(ev["particle_pdg"].tolist()) == want


@pytest.mark.parametrize("params, match", [
    ({"layres": 3}, "did you mean `layers`"),
    ({"tracks": {"mean": 0}}, "positive"),
    ({"pt": [2.0, 1.0]}, "min > max"),
    ({"r_min": 800.0}, "no sensitive volume"),
    ({"classes": ["nope"]}, "neither a topology nor a reaction"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ConfigError, match=match):
        DriftChamber(params=params)


def test_stable_order_equals_a_stable_argsort():
    from hepgraph.sources.simulate.drift_chamber import stable_order

    rng = np.random.default_rng(0)
    for n, hi in [(0, 5), (1, 5), (1000, 7), (100_000, 3_000_000), (50, 2**60)]:
        key = rng.integers(0, hi, n, dtype=np.int64)
        np.testing.assert_array_equal(stable_order(key), np.argsort(key, kind="stable"))


REACTIONS = ["ee_psi2s_pipijpsi_ee", "ee_psi2s_pipijpsi_mumu", "ee_pipimumu"]


def test_reaction_classes_carry_the_decay_kinematics():
    src = DriftChamber(seed=2, params={"classes": REACTIONS, "noise_rate": 0.0})
    evs = table_to_events(validate_table(src.simulate(np.random.default_rng(2), 90, 0)))
    want = {0: [-11, 11, -211, 211], 1: [-13, 13, -211, 211], 2: [-13, 13, -211, 211]}
    m_ll = {0: [], 1: [], 2: []}
    for ev in evs:
        lab = int(ev["label"])
        assert sorted(ev["particle_pdg"].tolist()) == sorted(want[lab])
        p = np.stack([ev["particle_px"], ev["particle_py"], ev["particle_pz"]], 1).astype(np.float64)
        m = np.array([{11: 0.000511, 13: 0.10566, 211: 0.13957}[abs(int(c))] for c in ev["particle_pdg"]])
        e = np.sqrt((p**2).sum(1) + m**2)
        # Total four-momentum: sqrt(s) = 3.6861 GeV (spread 0.9 MeV), beta_x = sin(11 mrad).
        assert np.sqrt(e.sum() ** 2 - (p.sum(0) ** 2).sum()) == pytest.approx(3.6861, abs=0.005)
        assert p.sum(0)[0] / e.sum() == pytest.approx(np.sin(0.011), abs=1e-5)
        lep = np.abs(ev["particle_pdg"]) < 200
        m_ll[lab].append(np.sqrt(e[lep].sum() ** 2 - (p[lep].sum(0) ** 2).sum()))
        assert ev["n_tracks"] == 4 and len(ev["x"]) > 0
    assert np.allclose(m_ll[0], 3.0969, atol=2e-3) and np.allclose(m_ll[1], 3.0969, atol=2e-3)
    assert np.std(m_ll[2]) > 0.2                                  # continuum: no peak


def test_a_reaction_added_with_set_and_bad_reactions():
    src = DriftChamber(params={"classes": ["ee_kk"], "reactions": {"ee_kk": {"produce": ["K+", "K-"]}}})
    assert src.info().label_names == ["ee_kk"]
    with pytest.raises(ConfigError, match="conserve charge"):
        DriftChamber(params={"reactions": {"bad": {"produce": ["psi(2S)"], "decays": {"psi(2S)": ["pi+", "pi+"]}}}})
    with pytest.raises(ConfigError, match="both a topology and a reaction"):
        DriftChamber(params={"reactions": {"pipiee": {"produce": ["pi+", "pi-"]}}})
