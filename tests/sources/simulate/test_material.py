"""Material physics against reference numbers (PDG, NIST PSTAR), not against the code."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.sources.simulate.material import (
    csda_range_cm, highland, kinetic_from_range, material, mip_dedx, scatter, species,
)

LAR = material("liquid-argon")

# NIST PSTAR, material "ARGON": CSDA range (g/cm^2) of protons vs kinetic energy (MeV),
# https://physics.nist.gov/PhysRefData/Star/Text/PSTAR.html (the table LArSoft's
# TrackMomentumCalculator uses). Divided by the LAr density 1.396 g/cm^3 below.
PSTAR_ARGON = {100: 10.92, 200: 36.27, 300: 71.44, 400: 113.8, 500: 161.4,
               600: 213.2, 700: 268.1, 800: 325.4, 1000: 445.4}


def test_masses_come_from_the_particle_package():
    assert species("mu-").mass == pytest.approx(105.658, abs=1e-3)
    assert species("p").mass == pytest.approx(938.272, abs=1e-3)
    assert species("pi+").charge == 1 and species("e-").charge == -1


def test_muon_minimum_ionisation_in_lar_is_2_1_mev_per_cm():
    # PDG: <-dE/dx>_min of liquid argon = 1.519 MeV cm^2/g x 1.396 g/cm^3 = 2.12 MeV/cm.
    assert mip_dedx(LAR) == pytest.approx(2.12, rel=0.03)


@pytest.mark.parametrize("ke", sorted(PSTAR_ARGON))
def test_proton_csda_range_matches_pstar(ke):
    ref_cm = PSTAR_ARGON[ke] / 1.396
    assert csda_range_cm(np.array([ke]), species("p").mass, LAR)[0] == pytest.approx(ref_cm, rel=0.10)


def test_range_inverse():
    t = np.array([5.0, 50.0, 500.0])
    r = csda_range_cm(t, species("p").mass, LAR)
    np.testing.assert_allclose(kinetic_from_range(r, species("p").mass, LAR), t, rtol=1e-3)


def test_highland_formula_value():
    # 1 GeV/c muon through 1% X0: 13.6/(beta*1000) * 0.1 * (1 + 0.038 ln(0.01/beta^2)).
    m = 105.658
    beta = 1000 / np.hypot(1000, m)
    expected = 13.6 / (beta * 1000) * 0.1 * (1 + 0.038 * np.log(0.01 / beta**2))
    assert highland(1000.0, beta, 0.01) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(1.13e-3, rel=0.02)


def test_scatter_projected_angle_rms_is_theta0():
    rng = np.random.default_rng(0)
    n = 40000
    d = np.tile([0.0, 0.0, 1.0], (n, 1))
    theta0 = 0.01
    out = scatter(rng, d, np.full(n, theta0))
    proj_x = np.arctan2(out[:, 0], out[:, 2])
    proj_y = np.arctan2(out[:, 1], out[:, 2])
    assert np.std(proj_x) == pytest.approx(theta0, rel=0.03)
    assert np.std(proj_y) == pytest.approx(theta0, rel=0.03)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("shape", [1.0, 2.0, 3.0, 2.5])
def test_landau_factor_is_gamma_over_shape(shape):
    """The energy-loss fluctuation follows Gamma(shape)/shape (scipy's cdf), mean 1."""
    from scipy import stats

    from hepgraph.sources.simulate.material import landau_factor

    x = landau_factor(np.random.default_rng(1), 100_000, shape, np.float32)
    assert x.dtype == np.float32 and np.all(x > 0)
    assert abs(x.mean() - 1.0) < 0.01
    ks = stats.kstest(x, stats.gamma(a=shape, scale=1.0 / shape).cdf)
    assert ks.pvalue > 1e-3
