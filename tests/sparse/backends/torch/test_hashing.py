from __future__ import annotations

import torch

from hepgraph.sparse.backends.torch.hashing import (
    coord_limit,
    hash_coords,
    kernel_offsets,
    offset_deltas,
    unhash_keys,
)


def test_hash_roundtrip_and_order():
    g = torch.Generator().manual_seed(0)
    for ndim in (2, 3):
        lim = coord_limit(ndim)
        c = torch.randint(-lim + 1, lim, (500, 1 + ndim), generator=g)
        c[:, 0] = torch.randint(0, 100, (500,), generator=g)
        k = hash_coords(c)
        assert torch.equal(unhash_keys(k, ndim), c)
        # keys sort like rows (lexicographic)
        rows = sorted(map(tuple, c.tolist()))
        assert [tuple(r) for r in unhash_keys(torch.sort(k).values, ndim).tolist()] == rows


def test_offset_deltas_are_linear():
    c = torch.tensor([[3, 10, -7, 0], [0, -100, 5, 2]])
    offs = kernel_offsets((3, 3, 3), (2, 2, 2))
    d = offset_deltas(offs)
    for j in range(27):
        shifted = c.clone()
        shifted[:, 1:] += offs[j]
        assert torch.equal(hash_coords(shifted), hash_coords(c) + d[j])


def test_kernel_offsets_follow_conv_weight_order():
    offs = kernel_offsets((2, 3), (1, 2))
    # last dim fastest, even kernel starts at 0, odd kernel centred
    assert offs.tolist() == [[0, -2], [0, 0], [0, 2], [1, -2], [1, 0], [1, 2]]
