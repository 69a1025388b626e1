from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.store.sampler import BlockShuffleSampler

BLOCKS = [np.arange(i * 10, i * 10 + 10) for i in range(10)]  # 10 row groups of 10 events


def test_permutation_and_seeded():
    s = BlockShuffleSampler(BLOCKS, window=2, seed=3)
    order = list(s)
    assert sorted(order) == list(range(100)) and order != list(range(100))
    assert order == list(BlockShuffleSampler(BLOCKS, window=2, seed=3))
    assert order != list(BlockShuffleSampler(BLOCKS, window=2, seed=4))
    s.set_epoch(1)
    assert list(s) != order


def test_window_locality():
    order = np.array(list(BlockShuffleSampler(BLOCKS, window=2, seed=0)))
    # each consecutive run of 20 events comes from exactly 2 row groups
    for w in range(5):
        assert len(set((order[w * 20 : (w + 1) * 20] // 10).tolist())) == 2


def test_no_shuffle_is_storage_order():
    assert list(BlockShuffleSampler(BLOCKS, shuffle=False)) == list(range(100))


@pytest.mark.parametrize("drop_last", [False, True])
def test_ranks_disjoint_and_equal(drop_last):
    blocks = [np.arange(i * 10, i * 10 + 10) for i in range(10)] + [np.arange(100, 103)]
    parts = [list(BlockShuffleSampler(blocks, seed=1, rank=r, world_size=3, drop_last=drop_last)) for r in range(3)]
    assert len({len(p) for p in parts}) == 1
    flat = sum(parts, [])
    if drop_last:
        assert len(flat) == 102 and len(set(flat)) == 102
    else:
        assert len(flat) == 105 and set(flat) == set(range(103))


def test_bad_args():
    with pytest.raises(ConfigError):
        BlockShuffleSampler(BLOCKS, rank=2, world_size=2)
    with pytest.raises(ConfigError):
        BlockShuffleSampler(BLOCKS, window=0)
