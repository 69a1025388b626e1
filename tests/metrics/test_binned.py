from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.metrics.binned import (assign_bins, bin_centres, bin_edges, bin_medians, crossing, sigma68,
                                     turn_on, wilson_interval)


def test_uniform_log_and_explicit_edges():
    assert bin_edges(4, "uniform", 0.0, 8.0).tolist() == [0, 2, 4, 6, 8]
    np.testing.assert_allclose(bin_edges(3, "log", 1.0, 1000.0), [1, 10, 100, 1000])
    assert bin_edges([0, 3, 5, 10]).tolist() == [0, 3, 5, 10]
    with pytest.raises(ConfigError, match="strictly"):
        bin_edges([0, 5, 3])
    with pytest.raises(ConfigError, match="lo > 0"):
        bin_edges(4, "log", 0.0, 10.0)
    with pytest.raises(ConfigError, match="give 2 to 1024 bins"):
        bin_edges(1, "uniform", 0.0, 1.0)
    with pytest.raises(ConfigError, match="spacing `cubic`"):
        bin_edges(4, "cubic", 0.0, 1.0)


@pytest.mark.parametrize("edges", [np.array([0.0, 1.0, 2.0, 5.0]), np.geomspace(0.5, 200.0, 44)])
def test_assign_bins_equals_numpy_digitize(edges):
    rng = np.random.default_rng(3)
    v = np.concatenate([rng.uniform(edges[0] - 1, edges[-1] + 1, 2000), edges, [-np.inf, np.inf]])
    got = assign_bins(v, edges)
    np.testing.assert_array_equal(got, np.digitize(v, edges[1:-1]))
    assert got.min() >= 0 and got.max() <= len(edges) - 2


def test_centres_and_medians_by_hand():
    e = np.array([1.0, 4.0, 16.0])
    assert bin_centres(e, "log").tolist() == [2.0, 8.0]
    assert bin_centres(e).tolist() == [2.5, 10.0]
    med = bin_medians(np.array([1.0, 2.0, 3.5, 20.0]), np.array([0.0, 4.0, 8.0, 16.0]), np.array([-1.0] * 3))
    assert med.tolist() == [2.0, -1.0, 20.0]   # 20 is overflow -> last bin; bin 1 is empty


def test_sigma68_of_a_gaussian_and_by_hand():
    r = np.random.default_rng(0).normal(0.0, 2.0, 200_000)
    assert sigma68(r) == pytest.approx(2.0, rel=0.01)
    assert np.isnan(sigma68(np.zeros(0)))


def test_turn_on_counts_and_fifty_percent_point():
    y = np.array([0.5, 0.6, 1.5, 1.6, 1.7, 1.8, 2.5, 2.6])
    passed = np.array([0, 0, 0, 1, 1, 1, 1, 1], bool)
    c = turn_on(y, passed, np.array([0.0, 1.0, 2.0, 3.0]))
    assert c["n"].tolist() == [2, 4, 2] and c["passed"].tolist() == [0, 3, 2]
    assert c["efficiency"].tolist() == [0.0, 0.75, 1.0]
    # 0.5 is reached between centres 0.5 (eff 0) and 1.5 (eff 0.75): 0.5 + 0.5/0.75
    assert crossing(c["centres"], c["efficiency"]) == pytest.approx(0.5 + 0.5 / 0.75)
    assert np.isnan(crossing(c["centres"], np.zeros(3)))


def test_wilson_interval_contains_the_fraction():
    lo, hi = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    assert (lo <= np.array([0, 0.5, 1.0]) + 1e-12).all() and (hi >= np.array([0, 0.5, 1.0]) - 1e-12).all()
    assert lo[0] == pytest.approx(0.0, abs=1e-12) and hi[2] == pytest.approx(1.0)
