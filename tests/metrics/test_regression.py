from __future__ import annotations

import numpy as np
import pytest

from hepgraph.metrics.regression import binned_bias_resolution, pull_stats, pulls, residual_stats


def test_residual_stats_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 1.5, 3.5, 4.5])  # residuals 0.5, -0.5, 0.5, 0.5
    s = residual_stats(y, p)
    assert s["bias"] == pytest.approx(0.25)
    assert s["resolution"] == pytest.approx(np.std([0.5, -0.5, 0.5, 0.5]))
    assert s["rmse"] == pytest.approx(0.5)
    assert s["mae"] == pytest.approx(0.5)


def test_pulls_and_coverage():
    p = pulls(np.zeros(4), np.array([0.5, -3.0, 1.5, 0.0]), np.array([1.0, 2.0, 1.0, 1.0]))
    assert p.tolist() == [0.5, -1.5, 1.5, 0.0]
    st = pull_stats(p)
    assert st["frac_pull_lt1"] == 0.5 and st["frac_pull_lt2"] == 1.0
    rng = np.random.default_rng(0)
    st = pull_stats(rng.normal(size=200_000))
    assert st["frac_pull_lt1"] == pytest.approx(0.6827, abs=0.005)
    assert st["frac_pull_lt2"] == pytest.approx(0.9545, abs=0.005)


def test_binned_bias_resolution_explicit_edges():
    y = np.array([0.1, 0.2, 1.1, 1.2, 1.3])
    p = y + np.array([1.0, 1.0, -1.0, 0.0, 1.0])
    b = binned_bias_resolution(y, p, bins=np.array([0.0, 1.0, 2.0]))
    assert b["count"].tolist() == [2, 3]
    assert b["bias"].tolist() == pytest.approx([1.0, 0.0])
    assert b["resolution"].tolist() == pytest.approx([0.0, np.std([-1.0, 0.0, 1.0])])
