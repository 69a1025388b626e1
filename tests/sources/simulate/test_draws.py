"""Fast float32 normal draws (Box-Muller) checked against the normal distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hepgraph.sources.simulate.draws import normal32


def test_normal32_follows_the_normal_distribution():
    x = normal32(np.random.default_rng(5), 200_001)
    assert x.dtype == np.float32 and x.shape == (200_001,)
    assert abs(x.mean()) < 0.01
    assert x.std() == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # Pairs (cos, sin halves) are independent: no correlation between the two halves.
    h = x.size // 2
    assert abs(np.corrcoef(x[:h], x[h: 2 * h])[0, 1]) < 0.01
    # Tails: the fraction beyond 3 sigma matches 2 * (1 - Phi(3)) = 0.0027.
    assert np.mean(np.abs(x) > 3) == pytest.approx(2 * stats.norm.sf(3), rel=0.1)


def test_normal32_shape_scale_and_reproducibility():
    a = normal32(np.random.default_rng(7), (3, 5, 7), scale=2.5)
    b = normal32(np.random.default_rng(7), (3, 5, 7), scale=2.5)
    assert a.shape == (3, 5, 7) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    big = normal32(np.random.default_rng(8), 100_000, scale=0.13)
    assert big.std() == pytest.approx(0.13, rel=0.01)
    assert normal32(np.random.default_rng(0), 0).shape == (0,)
