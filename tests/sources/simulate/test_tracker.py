"""Thin-scatterer propagation: the Highland angle checked statistically."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.sources.simulate.helix import TrackState
from hepgraph.sources.simulate.tracker import propagate


def test_projected_scattering_angle_follows_highland():
    n, p, m, x = 20000, 1.0, 105.6583755, 0.02       # 1 GeV/c muons, 2% X0 scatterer
    rng = np.random.default_rng(0)
    st = TrackState(np.zeros((n, 3)), np.tile([p, 0.0, 0.0], (n, 1)), np.ones(n))
    cr = propagate(rng, st, np.full(n, m), 0.0, [("plane_x", 10.0), ("plane_x", 1010.0)],
                   [x, 0.0], lambda pos: np.ones(len(pos), bool))
    first, second = cr.pos[cr.surface == 0], cr.pos[cr.surface == 1]
    angle_y = np.arctan((second[:, 1] - first[:, 1]) / 1000.0)
    angle_z = np.arctan((second[:, 2] - first[:, 2]) / 1000.0)
    beta = p * 1e3 / np.hypot(p * 1e3, m)
    theta0 = 13.6 / (beta * p * 1e3) * np.sqrt(x) * (1 + 0.038 * np.log(x / beta**2))  # PDG 34.15
    assert np.std(angle_y) == pytest.approx(theta0, rel=0.03)
    assert np.std(angle_z) == pytest.approx(theta0, rel=0.03)


def test_tracks_leaving_the_volume_stop():
    st = TrackState(np.zeros((2, 3)), np.array([[1.0, 0, 0], [1.0, 0, 1.0]]), np.ones(2))
    cr = propagate(np.random.default_rng(0), st, np.full(2, 139.57), 0.0,
                   [("plane_x", 100.0), ("plane_x", 200.0)], 0.0, lambda pos: np.abs(pos[:, 2]) < 150)
    assert cr.track.tolist() == [0, 1, 0]   # track 1 is at z = 200 on the second plane


def test_linearised_scattering_of_plane_hits_follows_highland():
    from hepgraph.sources.simulate.tracker import plane_hits

    n, p, m, x = 20000, 0.5, 139.57039, 0.01        # 0.5 GeV/c pions, 1% X0 per plane
    rng = np.random.default_rng(1)
    pos, ph, path, ok = plane_hits(rng, np.zeros((n, 3)), np.tile([p, 0.0, 0.0], (n, 1)), np.ones(n),
                                   np.full(n, m), 0.0, np.array([10.0, 1010.0]), x)
    assert ok.all()
    beta = p * 1e3 / np.hypot(p * 1e3, m)
    theta0 = 13.6 / (beta * p * 1e3) * np.sqrt(x) * (1 + 0.038 * np.log(x / beta**2))
    assert np.std((pos[:, 1, 1] - pos[:, 0, 1]) / 1000.0) == pytest.approx(theta0, rel=0.03)
    assert np.std((pos[:, 1, 2] - pos[:, 0, 2]) / 1000.0) == pytest.approx(theta0, rel=0.03)
    np.testing.assert_allclose(pos[:, :, 0], [[10.0, 1010.0]] * n)   # points stay on their planes


def test_scattering_offsets_have_the_variance_of_summed_kicks():
    """Var of the offset at crossing j = theta0^2 * sum_{k<j} (L_j - L_k)^2 over live kicks."""
    from hepgraph.sources.simulate.tracker import scattering_offsets

    n, theta0 = 40_000, 1e-3
    path = np.tile(np.array([100.0, 200.0, 300.0, 400.0, 500.0]), (n, 1))
    alive = np.ones(path.shape, bool)
    alive[n // 2:, 1] = False                                 # second half: no kick at crossing 1
    d1, d2 = scattering_offsets(np.random.default_rng(2), np.full(n, theta0), path, alive)
    assert d1.shape == path.shape and d1.dtype == np.float32
    np.testing.assert_array_equal(d1[:, 0], 0.0)              # nothing before the first crossing
    full = theta0**2 * (400.0**2 + 300.0**2 + 200.0**2 + 100.0**2)
    holed = theta0**2 * (400.0**2 + 200.0**2 + 100.0**2)
    for d in (d1, d2):
        assert d[: n // 2, 4].var() == pytest.approx(full, rel=0.03)
        assert d[n // 2:, 4].var() == pytest.approx(holed, rel=0.03)
    assert abs(np.corrcoef(d1[:, 4], d2[:, 4])[0, 1]) < 0.02
