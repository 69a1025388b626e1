from __future__ import annotations

import numpy as np
import pytest

from hepgraph.cluster.drift_circles import LegendreClusterer, fit_tangent_line, tangent_lines, tangent_residuals
from hepgraph.errors import DataError


def _circles_on_line(theta, rho, t, rng, sides=None):
    """Wires at signed distances d from the line x cos(theta) + y sin(theta) = rho, at
    positions t along it; the drift radius is |d| (the circle touches the line)."""
    n = np.array([np.cos(theta), np.sin(theta)])
    u = np.array([-np.sin(theta), np.cos(theta)])
    d = rng.uniform(1.0, 20.0, t.size) * (sides if sides is not None else rng.choice([-1.0, 1.0], t.size))
    w = rho * n[None, :] + t[:, None] * u[None, :] + d[:, None] * n[None, :]
    return w[:, 0], w[:, 1], np.abs(d)


def test_common_tangents_touch_both_circles():
    lines = tangent_lines(0.0, 0.0, 5.0, 40.0, 10.0, 12.0)
    assert len(lines) == 4                            # separate circles: 2 external + 2 internal
    for theta, rho in lines:
        res = tangent_residuals(theta, rho, np.array([0.0, 40.0]), np.array([0.0, 10.0]), np.array([5.0, 12.0]))
        np.testing.assert_allclose(res, 0.0, atol=1e-7)
    assert len(tangent_lines(0.0, 0.0, 10.0, 3.0, 0.0, 2.0)) == 0  # one circle inside the other


def test_tangent_line_fit_recovers_the_line_from_drift_circles():
    rng = np.random.default_rng(0)
    for theta, rho in [(0.3, 120.0), (1.9, -40.0), (0.01, 5.0)]:
        x, y, r = _circles_on_line(theta, rho, np.linspace(-200, 200, 9), rng)
        th, rh, rms = fit_tangent_line(x, y, r, theta + 0.02, rho + 3.0)
        assert th == pytest.approx(theta, abs=1e-7) and rh == pytest.approx(rho, abs=1e-5)
        assert rms < 1e-6


def test_legendre_finds_two_straight_tracks_and_leaves_noise():
    rng = np.random.default_rng(1)
    xa, ya, ra = _circles_on_line(0.2, 50.0, np.linspace(-180, 180, 10), rng)
    xb, yb, rb = _circles_on_line(1.3, -90.0, np.linspace(-150, 150, 8), rng)
    x = np.r_[xa, xb, 300.0]
    y = np.r_[ya, yb, -400.0]
    r = np.r_[ra, rb, 10.0]
    z = np.r_[np.linspace(0, 90, 10), np.linspace(-400, -300, 8), 0.0]
    lab = LegendreClusterer().cluster({"x": x, "y": y, "z": z, "drift_radius": r})
    truth = np.r_[np.zeros(10), np.ones(8), -1]
    assert lab[-1] == -1
    assert len(set(lab[:10])) == 1 and len(set(lab[10:18])) == 1 and lab[0] != lab[10]


def test_legendre_needs_drift_radii():
    with pytest.raises(DataError, match="drift_radius"):
        LegendreClusterer().cluster({"x": np.zeros(4), "y": np.arange(4.0), "z": np.zeros(4)})
