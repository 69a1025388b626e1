from __future__ import annotations

import numpy as np
import pytest

from hepgraph.cluster.fit import fit_circle_kasa, fit_circle_taubin, fit_helix, fit_tracks
from hepgraph.errors import ConfigError, DataError

C_PT = 0.299792458e-3  # GeV / (T mm)


def helix(pt, phi0, cot, q, field, vertex=(0.0, 0.0, 0.0), n=12, r_max=1000.0):
    """Exact hits of a helix: positive q in B > 0 turns clockwise seen from +z."""
    rad = pt / (C_PT * abs(field))
    h = -np.sign(q * field)  # +1 counter-clockwise
    vx, vy, vz = vertex
    cx, cy = vx - h * rad * np.sin(phi0), vy + h * rad * np.cos(phi0)
    a0 = np.arctan2(vy - cy, vx - cx)
    t_max = 2 * np.arcsin(min(r_max / (2 * rad), 0.95))
    t = np.linspace(0.05 * t_max, t_max, n)
    return np.stack([cx + rad * np.cos(a0 + h * t), cy + rad * np.sin(a0 + h * t), vz + rad * t * cot], 1)


@pytest.mark.parametrize("field", [1.0, 2.0])
@pytest.mark.parametrize("pt,q", [(0.5, 1), (1.0, -1), (5.0, 1)])
@pytest.mark.parametrize("method", ["taubin", "kasa"])
def test_exact_helix_momentum_and_charge(field, pt, q, method):
    pos = helix(pt, phi0=0.7, cot=0.4, q=q, field=field)
    res = fit_helix(pos, field, method)
    assert res["pt"] == pytest.approx(pt, rel=1e-3)
    assert res["pz"] == pytest.approx(0.4 * pt, rel=1e-3)
    assert res["q"] == q
    assert res["d0"] == pytest.approx(0.0, abs=1e-6)
    assert res["z0"] == pytest.approx(0.0, abs=1e-6)
    assert res["phi0"] == pytest.approx(0.7, abs=1e-6)


def test_negative_field_flips_charge():
    pos = helix(1.0, 0.2, 0.0, q=1, field=-1.5)
    assert fit_helix(pos, -1.5)["q"] == 1
    assert fit_helix(pos, 1.5)["q"] == -1


def test_impact_parameter_sign_and_z0():
    # start at (0, 5, 20) moving along +x: perigee (0, 5), (p x P)_z = +5 -> d0 = +5
    pos = helix(2.0, 0.0, cot=-0.3, q=1, field=2.0, vertex=(0.0, 5.0, 20.0))
    res = fit_helix(pos, 2.0)
    assert res["d0"] == pytest.approx(5.0, abs=1e-4)
    assert res["z0"] == pytest.approx(20.0, abs=1e-3)
    assert res["cot_theta"] == pytest.approx(-0.3, rel=1e-6)
    pos = helix(2.0, np.pi, cot=0.0, q=1, field=2.0, vertex=(0.0, 5.0, 0.0))  # moving along -x
    assert fit_helix(pos, 2.0)["d0"] == pytest.approx(-5.0, abs=1e-4)


def test_circle_fits_agree_on_exact_circle():
    a = np.linspace(0, 1, 7)
    x, y = 3 + 50 * np.cos(a), -2 + 50 * np.sin(a)
    for fn in (fit_circle_kasa, fit_circle_taubin):
        assert fn(x, y) == pytest.approx((3, -2, 50), abs=1e-8)


def test_taubin_less_biased_than_kasa_on_short_noisy_arc():
    rng = np.random.default_rng(1)
    bias_k, bias_t = [], []
    for _ in range(200):
        a = np.linspace(0, 0.6, 10)
        x = 500 * np.cos(a) + rng.normal(0, 2, 10)
        y = 500 * np.sin(a) + rng.normal(0, 2, 10)
        bias_k.append(fit_circle_kasa(x, y)[2] - 500)
        bias_t.append(fit_circle_taubin(x, y)[2] - 500)
    assert abs(np.median(bias_t)) < abs(np.median(bias_k))


def test_fit_tracks_per_label_skips_short_and_noise():
    a = helix(1.0, 0.3, 0.1, 1, 1.0)
    b = helix(3.0, 2.0, -0.5, -1, 1.0)
    pos = np.concatenate([a, b, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    lab = np.r_[np.full(len(a), 4), np.full(len(b), 1), -1, 9]
    res = fit_tracks(pos, lab, 1.0)
    assert res["track_id"].tolist() == [1, 4]
    assert res["pt"] == pytest.approx([3.0, 1.0], rel=1e-3)
    assert res["q"].tolist() == [-1.0, 1.0]
    assert res["nhits"].tolist() == [12, 12]


def test_bad_input():
    with pytest.raises(DataError, match="M >= 3"):
        fit_helix(np.zeros((2, 3)), 1.0)
    with pytest.raises(ConfigError, match="kasa"):
        fit_helix(helix(1, 0, 0, 1, 1), 1.0, method="pratt")
