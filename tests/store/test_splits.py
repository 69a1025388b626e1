from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.store.splits import event_hash_unit, split_codes, split_record


def test_fractions_respected():
    codes = split_codes(np.arange(200_000))
    np.testing.assert_allclose(np.bincount(codes) / 200_000, [0.7, 0.15, 0.15], atol=0.005)


def test_pure_function_of_event_id():
    ids = np.array([5, 1, 99, -3, 2**40])
    np.testing.assert_array_equal(split_codes(ids)[[1, 2]], split_codes(ids[[1, 2]]))
    u = event_hash_unit(ids)
    assert ((u >= 0) & (u < 1)).all()
    # independent recomputation of splitmix64 for event_id 1
    z = (1 + 0x9E3779B97F4A7C15) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    z ^= z >> 31
    assert u[1] == (z >> 11) / 2**53


def test_record_and_bad_fractions():
    r = split_record(np.arange(100), [0.5, 0.25, 0.25])
    assert sum(r["counts"].values()) == 100 and r["names"] == ["train", "val", "test"]
    with pytest.raises(ConfigError):
        split_codes(np.arange(3), [0.5, 0.6, 0.1])
