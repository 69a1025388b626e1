"""Decay-chain generator against independent truth: resonance peaks, recoil mass, four-momentum
conservation, isotropy in the parent frame, a continuum without a peak."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.sources.simulate import decay
from hepgraph.sources.simulate import kinematics as kin

M_JPSI, G_JPSI = 3.0969, 92.6e-6     # GeV (PDG)
PSI2S = {"produce": ["psi(2S)"], "decays": {"psi(2S)": ["pi+", "pi-", "J/psi(1S)"], "J/psi(1S)": ["e+", "e-"]}}
BEAM = decay.Beam(3.6861, 0.0009, 0.022)


def events(spec, n, seed=0, beam=BEAM):
    g = decay.generate(np.random.default_rng(seed), decay.Reaction.parse("r", spec), beam, n)
    return g, g.p4.reshape(n, -1, 4)


def test_final_state_and_total_four_momentum_equals_the_beams():
    g, p4 = events(PSI2S, 5000)
    assert decay.Reaction.parse("r", PSI2S).final_state() == ["pi+", "pi-", "e+", "e-"]
    assert g.pdg[:4].tolist() == [211, -211, -11, 11] and g.charge[:4].tolist() == [1, -1, 1, -1]
    assert np.allclose(p4.sum(1), g.beam, atol=1e-12)
    # The beams: sqrt(s) spread 0.9 MeV, moving along +x with beta = sin(11 mrad).
    w = kin.mass(g.beam)
    assert w.mean() == pytest.approx(3.6861, abs=1e-4) and w.std() == pytest.approx(0.0009, rel=0.05)
    assert np.allclose(g.beam[:, 1] / g.beam[:, 0], np.sin(0.011)) and np.allclose(g.beam[:, 2:], 0)


def test_dilepton_mass_peaks_at_the_jpsi_within_its_width():
    _, p4 = events(PSI2S, 5000)
    m_ll = kin.mass(p4[:, 2] + p4[:, 3])
    assert np.median(m_ll) == pytest.approx(M_JPSI, abs=5e-6)
    q25, q75 = np.percentile(m_ll, [25, 75])
    assert q75 - q25 == pytest.approx(G_JPSI, rel=0.1)


def test_pipi_recoil_mass_is_the_jpsi_mass():
    # Recoil against the nominal beam four-momentum (what an experiment knows); with the
    # 0.9 MeV beam spread it is smeared by about that much, without it by the J/psi width.
    nominal = decay.Beam(3.6861, 0.0, 0.022).four_momentum(np.random.default_rng(9), 1)[0]
    for beam, width in ((decay.Beam(3.6861, 0.0, 0.022), G_JPSI), (BEAM, 0.0009)):
        _, p4 = events(PSI2S, 5000, seed=1, beam=beam)
        rec = kin.mass(nominal - p4[:, 0] - p4[:, 1])
        assert np.median(rec) == pytest.approx(M_JPSI, abs=0.05 * width)
        assert np.percentile(np.abs(rec - M_JPSI), 50) < width


def test_two_body_decay_is_isotropic_in_the_parent_frame():
    _, p4 = events(PSI2S, 20000, seed=2)
    jpsi = p4[:, 2] + p4[:, 3]
    beta = jpsi[:, 1:] / jpsi[:, :1]
    e_rest = kin.boost(p4[:, 2], -beta)              # e+ in the J/psi rest frame
    flight = beta / np.linalg.norm(beta, axis=1, keepdims=True)
    cos = (e_rest[:, 1:] * flight).sum(1) / np.linalg.norm(e_rest[:, 1:], axis=1)
    assert np.allclose(e_rest[:, 1:] + kin.boost(p4[:, 3], -beta)[:, 1:], 0, atol=1e-9)
    counts = np.histogram(cos, bins=10, range=(-1, 1))[0]
    assert (np.abs(counts - 2000) < 5 * np.sqrt(2000)).all()
    assert abs(cos.mean()) < 5 * np.sqrt(1 / 3 / cos.size)


def test_continuum_dimuon_mass_has_no_peak():
    _, p4 = events({"produce": ["pi+", "pi-", "mu+", "mu-"]}, 20000, seed=3)
    m = kin.mass(p4[:, 2] + p4[:, 3])
    assert np.allclose(p4.sum(1)[:, 0], kin.mass(p4.sum(1)) / np.cos(0.011), rtol=1e-9)
    assert m.min() >= 2 * 0.1056 and m.max() <= 3.6861 + 0.01 - 2 * 0.1395
    # Smooth: the 10 MeV window at the J/psi holds what its neighbours hold (no resonance).
    h = np.histogram(m, bins=np.arange(2.90, 3.30, 0.01))[0]
    i = int(np.floor((M_JPSI - 2.90) / 0.01))
    assert h[i] < 2 * max(h[i - 3 : i].mean(), 1) + 5 and h[i] < 0.01 * m.size


def test_reaction_errors():
    with pytest.raises(ConfigError, match="charge"):
        decay.Reaction.parse("r", {"produce": ["pi+", "pi+"]})
    with pytest.raises(ConfigError, match="conserve charge"):
        decay.Reaction.parse("r", {"produce": ["psi(2S)"], "decays": {"psi(2S)": ["pi+", "pi+", "J/psi(1S)"]}})
    with pytest.raises(ConfigError, match="unknown particle"):
        decay.Reaction.parse("r", {"produce": ["nonsense+"]})
    with pytest.raises(ConfigError, match="loops"):
        decay.Reaction.parse("r", {"produce": ["rho(770)0"], "decays": {"rho(770)0": ["pi+", "pi-", "rho(770)0"]}})
    with pytest.raises(ConfigError, match="produce"):
        decay.Reaction.parse("r", {"make": ["pi+", "pi-"]})
    with pytest.raises(ConfigError, match="needs sqrt_s above"):
        events({"produce": ["p", "p~"]}, 10, beam=decay.Beam(1.0))
    with pytest.raises(ConfigError, match="sqrt_s"):
        decay.Beam.parse({"energy_spread": 0.001})
