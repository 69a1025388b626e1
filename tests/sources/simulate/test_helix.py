"""Helix propagation against the closed-form circle R[m] = p_T / (0.3 B)."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.sources.simulate.helix import TrackState, fit_circle, to_cylinder, to_plane_x


def one_track(pt=0.5, phi=0.3, pz=0.2, q=1.0, pos=(0.0, 0.0, 0.0)):
    mom = np.array([[pt * np.cos(phi), pt * np.sin(phi), pz]])
    return TrackState(np.array([pos], dtype=float), mom, np.array([q]))


def test_cylinder_crossings_lie_on_the_expected_circle():
    b, pt = 1.5, 0.4
    st = one_track(pt=pt)
    pts = []
    for r in np.linspace(50, 400, 15):
        st, path, ok = to_cylinder(st, b, r)
        assert ok[0]
        assert np.hypot(*st.pos[0, :2]) == pytest.approx(r, rel=1e-9)
        pts.append(st.pos[0])
    pts = np.array(pts)
    _, _, radius = fit_circle(pts[:, 0], pts[:, 1])
    assert radius / 1000 == pytest.approx(pt / (0.299792458 * b), rel=1e-6)
    # z advances linearly with the transverse arc length (pz / pt per unit).
    s_t = 2 * radius * np.arcsin(np.hypot(pts[:, 0], pts[:, 1]) / (2 * radius))
    np.testing.assert_allclose(pts[:, 2], s_t * 0.2 / pt, rtol=1e-6)


def test_positive_charge_turns_clockwise_in_positive_field():
    st, _, _ = to_cylinder(one_track(phi=0.0, q=1.0), 2.0, 300.0)
    assert st.pos[0, 1] < 0          # F = q v x B points to -y for v = +x, B = +z
    st, _, _ = to_cylinder(one_track(phi=0.0, q=-1.0), 2.0, 300.0)
    assert st.pos[0, 1] > 0


def test_curler_does_not_reach_large_radius():
    # R = 0.1 / (0.3 * 1) m = 333 mm: never beyond 2R = 667 mm.
    st, _, ok = to_cylinder(one_track(pt=0.1), 1.0, 700.0)
    assert not ok[0]
    st, _, ok = to_cylinder(one_track(pt=0.1), 1.0, 600.0)
    assert ok[0]


def test_neutral_and_zero_field_are_straight():
    st, path, ok = to_cylinder(one_track(phi=0.7, pz=0.0, q=0.0), 1.0, 100.0)
    assert ok[0] and path[0] == pytest.approx(100.0)
    np.testing.assert_allclose(st.pos[0, :2], [100 * np.cos(0.7), 100 * np.sin(0.7)], rtol=1e-9)
    st, path, ok = to_plane_x(one_track(phi=0.0, pz=0.0), 0.0, 50.0)
    assert ok[0] and st.pos[0, 0] == pytest.approx(50.0) and st.pos[0, 1] == pytest.approx(0.0)


def test_plane_crossing_matches_circle_geometry():
    b, pt = 0.5, 0.3
    r_mm = pt / (0.299792458 * b) * 1000
    st, path, ok = to_plane_x(one_track(pt=pt, phi=0.0, pz=0.0), b, 200.0)
    assert ok[0]
    # Circle through the origin with centre (0, -R): y = -(R - sqrt(R^2 - x^2)).
    assert st.pos[0, 1] == pytest.approx(-(r_mm - np.sqrt(r_mm**2 - 200.0**2)), rel=1e-9)
    assert path[0] == pytest.approx(r_mm * np.arcsin(200.0 / r_mm), rel=1e-9)


@pytest.mark.parametrize("b", [0.5, 0.0])
def test_all_at_once_crossings_equal_step_by_step(b):
    from hepgraph.sources.simulate.helix import cylinder_crossings, plane_crossings

    rng = np.random.default_rng(0)
    n = 200
    pos, mom = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    mom[:, 0] = np.abs(mom[:, 0])
    q = np.sign(rng.normal(size=n))
    planes = np.linspace(10, 500, 12)
    cases = [(plane_crossings, to_plane_x, planes)]
    if b:
        cases.append((cylinder_crossings, to_cylinder, np.linspace(50, 700, 12)))
    for batch, step, values in cases:
        # cylinder_crossings uses float32 trigonometry; its documented budget is 5e-4 mm.
        atol = 5e-4 if batch is cylinder_crossings else 1e-7
        p_all, _, _, ok_all = batch(pos, mom, q, b, values)[:4]
        st, alive = TrackState(pos.copy(), mom.copy(), q.copy()), np.ones(n, bool)
        for j, v in enumerate(values):
            st, _, ok = step(st, b, v)
            np.testing.assert_array_equal(ok[alive], ok_all[alive, j])
            m = ok & alive
            np.testing.assert_allclose(st.pos[m], p_all[m, j], rtol=0, atol=atol)
            alive &= ok


def test_cylinder_crossings_from_vertices_outside_some_cylinders():
    """Each cylinder on its own: the first crossing ahead, inward or outward, as step by step."""
    from hepgraph.sources.simulate.helix import cylinder_crossings

    rng = np.random.default_rng(3)
    n = 400
    pos = rng.normal(scale=150.0, size=(n, 3))          # many vertices beyond the inner radii
    mom = rng.normal(size=(n, 3))
    q = np.sign(rng.normal(size=n))
    radii = np.array([40.0, 120.0, 250.0, 600.0])
    p_all, _, path, ok_all = cylinder_crossings(pos, mom, q, 0.5, radii)[:4]
    outside = np.hypot(pos[:, 0], pos[:, 1])[:, None] > radii[None, :]
    assert outside.any() and (~outside).any()
    for j, r in enumerate(radii):
        st, _, ok = to_cylinder(TrackState(pos.copy(), mom.copy(), q.copy()), 0.5, r)
        np.testing.assert_array_equal(ok, ok_all[:, j])
        # float32 trigonometry: exact to ~1e-7 of the path (metres-long loops here).
        err = np.abs(st.pos[ok] - p_all[ok, j]).max(axis=1)
        assert np.all(err <= 5e-4 + 2e-7 * path[ok, j]), err.max()
