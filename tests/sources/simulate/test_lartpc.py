"""sim-lartpc physics against formulas and reference values (not against the code)."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES
from hepgraph.sources.simulate.lartpc import SEMANTIC, LArTPC

X0 = 140.0  # mm, LAr radiation length (PDG: 14.0 cm)


def simulate(n: int, seed: int = 0, **params):
    base = {"vertex_box": [[0, 0], [0, 0], [0, 0]]}
    src = LArTPC(seed=seed, params={**base, **params})
    table = validate_table(src.simulate(np.random.default_rng(seed), n, 0))
    return table_to_events(table)


def one_species(name: str, p: float, **extra):
    return dict(species=[name], species_weights=[1], momentum={name: [p, p]}, **extra)


def projected(ev):
    pos = np.stack([ev["x"], ev["y"], ev["z"]], axis=1)
    d = np.array([ev["px"], ev["py"], ev["pz"]]) / ev["p"]
    vtx = np.array([ev["vx"], ev["vy"], ev["vz"]])
    return (pos - vtx) @ d


def test_registered_and_rejects_inputs():
    assert "sim-lartpc" in SOURCES
    with pytest.raises(Exception, match="no input files"):
        SOURCES.get("sim-lartpc")(inputs=["a.root"])


def test_muon_at_minimum_ionisation_deposits_2_1_mev_per_cm():
    # p = 0.35 GeV/c muon: beta*gamma = 3.3, at the ionisation minimum (PDG: 2.12 MeV/cm in LAr).
    evs = simulate(60, **one_species("mu-", 0.35))
    dedx = []
    for ev in evs:
        s = projected(ev)
        sel = (s > 0) & (s < 300.0)
        dedx.append(ev["charge"][sel].sum() / 30.0)
    assert np.mean(dedx) == pytest.approx(2.12, rel=0.07)


def test_stopping_proton_range_matches_pstar():
    # PSTAR argon CSDA range for 300 MeV protons: 71.44 g/cm^2 / 1.396 = 51.2 cm.
    p = np.sqrt(300.0 * (300.0 + 2 * 938.272)) / 1e3
    evs = simulate(40, **one_species("p", p))
    reach = [projected(ev).max() for ev in evs]
    assert np.mean(reach) == pytest.approx(511.8, rel=0.10)


def test_energy_is_conserved_without_threshold():
    for name, p in (("p", 0.6), ("e-", 0.3)):
        # A 9 m cube contains the whole shower (no leakage through the walls).
        evs = simulate(20, threshold=0.0, shape=[3000, 3000, 3000], **one_species(name, p))
        for ev in evs:
            assert ev["charge"].sum() == pytest.approx(ev["energy"] * 1e3, rel=1e-3)


def test_threshold_losses_are_bounded():
    evs = simulate(20, threshold=0.2, shape=[1200, 1200, 1200], **one_species("e-", 0.3))
    for ev in evs:
        lost = ev["energy"] * 1e3 - ev["charge"].sum()
        assert lost >= 0
        assert ev["charge"].min() >= 0.2
        assert lost < 0.25 * ev["energy"] * 1e3


def shower_profile(ev):
    s = projected(ev)
    keep = ev["semantic"] == SEMANTIC.index("shower")
    return s[keep], ev["charge"][keep]


def test_shower_depth_grows_with_log_energy():
    depths = {}
    for e in (0.1, 0.4, 1.6):
        med = []
        for ev in simulate(40, seed=3, **one_species("e-", e)):
            s, q = shower_profile(ev)
            o = np.argsort(s)
            med.append(s[o][np.searchsorted(np.cumsum(q[o]), 0.5 * q.sum())])
        depths[e] = np.mean(med)
    # Shower maximum t_max = ln(E/Ec) + const (in X0): equal steps in log E -> equal steps.
    d1, d2 = depths[0.4] - depths[0.1], depths[1.6] - depths[0.4]
    assert d1 > 0 and d2 > 0
    assert d1 == pytest.approx(X0 * np.log(4), rel=0.35)
    assert d2 == pytest.approx(X0 * np.log(4), rel=0.35)


def test_photons_show_a_conversion_gap_and_electrons_do_not():
    gaps_g = [shower_profile(ev)[0].min() for ev in simulate(300, seed=5, shape=[3000] * 3,
                                                          **one_species("gamma", 0.5))]
    gaps_e = [shower_profile(ev)[0].min() for ev in simulate(50, seed=6, **one_species("e-", 0.5))]
    assert np.mean(gaps_g) == pytest.approx(9 / 7 * X0, rel=0.15)
    assert np.mean(gaps_e) < 5.0


def test_dedx_at_shower_start_two_mip_for_photons_one_for_electrons():
    def start_dedx(ev):
        s, q = shower_profile(ev)
        s0 = s.min()
        return q[(s >= s0) & (s < s0 + 30.0)].sum() / 3.0   # MeV/cm over the first 3 cm
    e = np.median([start_dedx(ev) for ev in simulate(60, seed=7, **one_species("e-", 0.5))])
    g = np.median([start_dedx(ev) for ev in simulate(60, seed=8, **one_species("gamma", 0.5))])
    assert e == pytest.approx(2.1, rel=0.3)
    assert g == pytest.approx(4.2, rel=0.3)


def test_stopping_muons_emit_michel_electrons():
    michel = SEMANTIC.index("michel")
    always = simulate(20, michel_probability=1.0, **one_species("mu-", 0.2))
    never = simulate(20, michel_probability=0.0, **one_species("mu-", 0.2))
    assert all((ev["semantic"] == michel).any() for ev in always)
    assert not any((ev["semantic"] == michel).any() for ev in never)
    for ev in always:
        # The Michel electron starts where the muon stops (its vertex = the muon end point).
        mu = ev["track_id"] == 0
        end = np.argmax(projected(ev) * mu - 1e9 * ~mu)
        k = np.flatnonzero(ev["particle_pdg"] == 11)[0]
        vtx = np.array([ev["particle_vx"][k], ev["particle_vy"][k], ev["particle_vz"][k]])
        assert np.linalg.norm(vtx - [ev["x"][end], ev["y"][end], ev["z"][end]]) < 30.0
        assert 0 < ev["particle_pz"][k] ** 2 + ev["particle_px"][k] ** 2 + ev["particle_py"][k] ** 2 < 0.0529**2 + 1e-6


def test_pions_interact_with_kinks_and_secondaries():
    evs = simulate(40, pion_interaction_length=150.0, pion_kink_fraction=0.5, **one_species("pi+", 0.6))
    n_protons = [int((ev["particle_pdg"] == 2212).sum()) for ev in evs]
    n_pions = [int((ev["particle_pdg"] == 211).sum()) for ev in evs]
    assert np.mean([n > 0 for n in n_protons]) > 0.7
    assert max(n_pions) >= 2      # a kink: the pion continues as a new track segment
    quiet = simulate(20, pion_interaction_length=1e9, **one_species("pi+", 0.3))
    assert all((ev["particle_pdg"] != 2212).all() for ev in quiet)
    # Stopped pi+ -> mu+ -> e+ (Michel) when nothing interacts.
    assert np.mean([(ev["particle_pdg"] == -11).any() for ev in quiet]) > 0.8


def test_labels_and_semantic_names():
    src = LArTPC(seed=0)
    info = src.info()
    assert info.label_names == ["e-", "mu-", "gamma", "pi+", "p"]
    assert info.semantic_names == ["track", "shower", "michel", "delta", "low-energy"]
    assert info.default_task == "classification"
    evs = simulate(30, seed=2)
    for ev in evs:
        if ev["x"].size:
            assert ev["particle_pdg"][0] == [11, 13, 22, 211, 2212][ev["label"]]


def test_muons_make_delta_rays_above_threshold():
    evs = simulate(20, delta_threshold=3.0, shape=[1200] * 3, **one_species("mu-", 1.0))
    deltas = [ev["particle_pdg"][1:] for ev in evs]
    assert np.mean([(d == 11).sum() for d in deltas]) > 1.0
    assert any((ev["semantic"] == SEMANTIC.index("delta")).any() for ev in evs)
    for ev in evs:
        k = np.flatnonzero(ev["particle_pdg"] == 11)
        p = np.sqrt(ev["particle_px"][k] ** 2 + ev["particle_py"][k] ** 2 + ev["particle_pz"][k] ** 2) * 1e3
        kin = np.sqrt(p**2 + 0.511**2) - 0.511
        assert (kin >= 3.0 - 1e-3).all()


def test_multi_particle_events_share_a_vertex():
    evs = simulate(10, particles_per_event=3, vertex_box=[[-100, 100]] * 3)
    for ev in evs:
        assert ev["n_tracks"] == 3
        prim = slice(0, 3)
        assert np.ptp(ev["particle_vx"][prim]) == 0 and np.ptp(ev["particle_vz"][prim]) == 0
