from __future__ import annotations

import pytest
import torch

from hepgraph.sparse.backends.torch import kernel_map as km
from hepgraph.sparse.backends.torch.hashing import kernel_offsets
from tests.sparse.helpers import random_coords


def _brute(table, queries, offsets):
    pairs = set()
    tab = {tuple(r): i for i, r in enumerate(table.tolist())}
    for m, q in enumerate(queries.tolist()):
        for j, d in enumerate(offsets.tolist()):
            t = tab.get((q[0], *[a + b for a, b in zip(q[1:], d)]))
            if t is not None:
                pairs.add((j, m, t))
    return pairs


@pytest.mark.parametrize("path", ["table", "hash", "sorted"])
def test_search_matches_brute_force(path, monkeypatch):
    if path != "table":
        monkeypatch.setattr(km, "DENSE_CELLS_MAX", 0)
    if path == "sorted":
        monkeypatch.setattr(km, "HASH_MAX_SITES", 0)
    table = random_coords(3, 7, [40, 0, 30], seed=1)
    queries = random_coords(3, 7, [25, 5, 10], seed=2)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    j, m, t = km.search(table, queries, offs)
    assert set(zip(j.tolist(), m.tolist(), t.tolist())) == _brute(table, queries, offs)
    assert bool((j[1:] >= j[:-1]).all())  # grouped by offset


@pytest.mark.parametrize("dense_table", [True, False])
def test_submanifold_map_symmetry(dense_table, monkeypatch):
    if not dense_table:
        monkeypatch.setattr(km, "DENSE_CELLS_MAX", 0)
    c = random_coords(3, 6, [50, 20], seed=3)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    m = km.submanifold_map(c, offs)
    assert m.identity == 13 and m.sizes[13] == 0
    start = 0
    got = set()
    for j, n in enumerate(m.sizes):
        for i, o in zip(m.in_idx[start:start + n].tolist(), m.out_idx[start:start + n].tolist()):
            got.add((j, o, i))
        start += n
    want = {p for p in _brute(c, c, offs) if p[0] != 13}
    assert got == want
    assert m.num_pairs == len(want) + c.shape[0]


def test_dense_table_and_hash_table_agree_on_large_input(monkeypatch):
    g = torch.Generator().manual_seed(0)
    lin = torch.randperm(64**3, generator=g)[:20_000]
    c = torch.stack([lin % 2, lin // 4096, (lin // 64) % 64, lin % 64], 1)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    a = km.submanifold_map(c, offs)
    monkeypatch.setattr(km, "DENSE_CELLS_MAX", 0)
    monkeypatch.setattr(km, "HASH_MAX_SITES", 2**62)
    b = km.submanifold_map(c, offs)
    assert a.sizes == b.sizes
    for m in (a, b):  # compare as sets of (in, out) per offset
        m.cache["pairs"] = set(zip(m.in_idx.tolist(), m.out_idx.tolist()))
    assert a.cache["pairs"] == b.cache["pairs"]
    monkeypatch.setattr(km, "HASH_MAX_SITES", 0)  # and sort + searchsorted
    c = km.submanifold_map(c, offs)
    assert c.sizes == a.sizes
    assert set(zip(c.in_idx.tolist(), c.out_idx.tolist())) == a.cache["pairs"]


def test_downsample_and_upsample():
    c = torch.tensor([[0, 0, 1, 3], [0, 1, 0, 2], [1, -1, 5, 5]])
    down = km.downsample(c, (2, 2, 2))
    assert down.tolist() == [[0, 0, 0, 1], [1, -1, 2, 2]]
    up = km.upsample(down[:1], (2, 2, 2), kernel_offsets((2, 2, 2), (1, 1, 1)))
    assert up.shape[0] == 8 and bool((torch.div(up, torch.tensor([1, 2, 2, 2]),
                                                rounding_mode="floor") == down[:1]).all())
