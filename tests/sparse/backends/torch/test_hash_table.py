from __future__ import annotations

import torch

from hepgraph.sparse.backends.torch.hash_table import HashTable


def test_lookup_finds_every_key_and_nothing_else():
    g = torch.Generator().manual_seed(0)
    keys = torch.randperm(10**6, generator=g)[:5000].long() * 7  # clustered residues
    vals = torch.randint(0, 10**9, (5000,), generator=g)
    h = HashTable(keys, vals)
    assert torch.equal(h.lookup(keys), vals)
    miss = keys + 1  # multiples of 7 plus one: never keys
    assert bool((h.lookup(miss) == -1).all())
    assert (h.keys >= 0).sum() == 5000 and h.keys.numel() >= 4 * 5000


def test_default_values_are_positions_and_dense_runs_probe_correctly():
    keys = torch.arange(1000, 3000).long()  # consecutive keys: long probe chains if hashed badly
    h = HashTable(keys)
    q = torch.tensor([999, 1000, 2999, 3000, 1500, -5])
    assert h.lookup(q).tolist() == [-1, 0, 1999, -1, 500, -1]


def test_empty_table_and_query():
    h = HashTable(torch.empty(0, dtype=torch.long))
    assert h.lookup(torch.tensor([0, 1, 5])).tolist() == [-1, -1, -1]
    assert h.lookup(torch.empty(0, dtype=torch.long)).numel() == 0
