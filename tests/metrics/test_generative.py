from __future__ import annotations

import numpy as np
import pytest

from hepgraph.metrics.generative import helix_distance, helix_points, wasserstein


def _ideal_tpc(n=20, seed=0):
    from hepgraph.events import table_to_events, validate_table
    from hepgraph.sources.simulate.pad_tpc import PadTPC

    src = PadTPC(seed=seed, params={"sigma_x": 0.0, "sigma_y": 0.0, "multiple_scattering": False})
    return src, table_to_events(validate_table(src.simulate(np.random.default_rng(seed), n, 0)))


def _particle(ev, k=0):
    v = np.array([ev[f"particle_v{a}"][k] for a in "xyz"], float)
    p = np.array([ev[f"particle_p{a}"][k] for a in "xyz"], float)
    return v, p, float(ev["particle_q"][k])


def test_simulated_clusters_without_material_lie_on_the_helix():
    """The simulator's exact helix (field along x) vs this module's: both charges, 0.2 T."""
    src, evs = _ideal_tpc()
    charges = set()
    for ev in evs:
        if len(ev["x"]) < 3:
            continue
        v, p, q = _particle(ev)
        charges.add(q)
        pts = np.column_stack([ev["x"], ev["y"], ev["z"]]).astype(float)
        assert helix_distance(pts, v, p, q, src.cfg["field_T"], "x").max() < 0.02      # float32 storage
        # the opposite charge bends the other way: clearly off the helix
        assert helix_distance(pts, v, p, -q, src.cfg["field_T"], "x").max() > 1.0
    assert charges == {-1.0, 1.0}


def test_distance_of_displaced_points_by_hand():
    v, p = np.zeros(3), np.array([0.0, 0.0, 1.0])              # straight line along z (no field)
    pts = np.array([[3.0, 0.0, 50.0], [0.0, -4.0, 120.0], [0.0, 0.0, 10.0]])
    np.testing.assert_allclose(helix_distance(pts, v, p, 1.0, 0.0), [3.0, 4.0, 0.0], atol=1e-9)
    # a point displaced along the normal of a helix by d is d away
    s = np.array([100.0, 300.0])
    h = helix_points(v, np.array([0.5, 0.2, 0.3]), -1.0, 1.0, s)
    off = h + np.array([0.0, 0.0, 2.5])                     # not along the normal: distance <= 2.5
    d = helix_distance(off, v, np.array([0.5, 0.2, 0.3]), -1.0, 1.0)
    assert (d <= 2.5 + 1e-9).all() and (d > 0.5).all()


def test_wasserstein_of_a_shift_is_the_shift():
    a = np.random.default_rng(0).normal(size=5000)
    assert wasserstein(a, a + 0.7) == pytest.approx(0.7, rel=1e-9)
    assert np.isnan(wasserstein(a, np.array([np.nan])))
