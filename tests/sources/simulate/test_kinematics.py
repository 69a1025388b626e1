"""Kinematics against closed forms: boosts, two-body momenta, phase space, Breit-Wigner."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.sources.simulate import kinematics as kin

M_MU, M_PI = 0.1056583755, 0.13957039


def test_boost_of_a_particle_at_rest_and_back():
    rest = np.array([[2.0, 0.0, 0.0, 0.0]])
    beta = np.array([[0.6, 0.0, 0.0]])
    moved = kin.boost(rest, beta)
    gamma = 1.25
    assert moved[0] == pytest.approx([gamma * 2.0, gamma * 2.0 * 0.6, 0.0, 0.0])
    rng = np.random.default_rng(0)
    p4 = np.concatenate([np.full((50, 1), 5.0), rng.uniform(-1, 1, (50, 3))], 1)
    b = rng.uniform(-0.5, 0.5, (50, 3))
    back = kin.boost(kin.boost(p4, b), -b)
    assert np.allclose(back, p4, atol=1e-12)
    assert np.allclose(kin.mass(kin.boost(p4, b)), kin.mass(p4))


def test_two_body_momentum_closed_form():
    m = 3.0969
    assert kin.two_body_momentum(m, M_MU, M_MU) == pytest.approx(np.sqrt(m**2 / 4 - M_MU**2))
    assert kin.two_body_momentum(0.1, M_MU, M_MU) == 0.0  # below threshold


def test_two_body_decays_are_isotropic_and_conserve_four_momentum():
    rng = np.random.default_rng(1)
    m = np.full(20000, 3.0969)
    p = kin.phase_space(rng, m, [M_MU, M_MU])
    assert np.allclose(p.sum(1), [[3.0969, 0, 0, 0]], atol=1e-12)
    assert np.allclose(np.linalg.norm(p[:, 0, 1:], axis=1), kin.two_body_momentum(3.0969, M_MU, M_MU))
    cos = p[:, 0, 3] / np.linalg.norm(p[:, 0, 1:], axis=1)
    # Uniform cos(theta): mean 0 and mean square 1/3, within 5 standard errors.
    assert abs(cos.mean()) < 5 * np.sqrt(1 / 3 / cos.size)
    assert abs((cos**2).mean() - 1 / 3) < 5 * np.sqrt(4 / 45 / cos.size)
    counts = np.histogram(cos, bins=10, range=(-1, 1))[0]
    assert (np.abs(counts - 2000) < 5 * np.sqrt(2000)).all()


def test_three_body_phase_space_fills_the_dalitz_plot_uniformly():
    # Massless daughters of M = 1: uniform in (m12^2, m23^2) on the triangle, so the m12^2
    # marginal density is 2 (1 - x) with mean 1/3 and mean square 1/6.
    rng = np.random.default_rng(2)
    p = kin.phase_space(rng, np.ones(20000), [1e-4, 1e-4, 1e-4])
    x = kin.mass(p[:, 0] + p[:, 1]) ** 2
    assert np.allclose(p.sum(1), [[1, 0, 0, 0]], atol=1e-10)
    assert x.mean() == pytest.approx(1 / 3, abs=5 * np.sqrt(1 / 18 / x.size))
    assert (x**2).mean() == pytest.approx(1 / 6, abs=0.01)


def test_four_body_phase_space_conserves_four_momentum_per_event():
    rng = np.random.default_rng(3)
    m = rng.uniform(3.5, 3.8, 2000)
    masses = np.array([M_PI, M_PI, M_MU, M_MU])
    p = kin.phase_space(rng, m, masses)
    assert np.allclose(p.sum(1)[:, 0], m) and np.allclose(p.sum(1)[:, 1:], 0, atol=1e-12)
    assert np.allclose(kin.mass(p), masses, atol=1e-9)
    with pytest.raises(ConfigError, match="cannot decay"):
        kin.phase_space(rng, np.array([0.3]), masses)


def test_breit_wigner_median_quartiles_and_window():
    rng = np.random.default_rng(4)
    m = kin.breit_wigner(rng, 3.0969, 92.6e-6, 40000, 3.0, 3.2)
    q25, q50, q75 = np.percentile(m, [25, 50, 75])
    assert q50 == pytest.approx(3.0969, abs=2e-6)
    assert q75 - q25 == pytest.approx(92.6e-6, rel=0.05)     # half width at half maximum twice
    cut = kin.breit_wigner(rng, 3.0969, 0.01, 5000, 3.09, 3.095)
    assert cut.min() >= 3.09 and cut.max() <= 3.095
    assert np.all(kin.breit_wigner(rng, 0.5, 0.0, 3, 0.1, 1.0) == 0.5)
    with pytest.raises(ConfigError, match="no mass window"):
        kin.breit_wigner(rng, 3.0969, 0.001, 2, 3.2, 3.1)
