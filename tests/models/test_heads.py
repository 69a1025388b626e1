from __future__ import annotations

import torch

from hepgraph.models.heads import EdgeHead, EventHead, HitHead, pool_hits


def test_pool_hits_mean_max_and_empty_event():
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0], [5.0, 6.0]])
    batch = torch.tensor([0, 0, 2])
    p = pool_hits(x, batch, 3)
    assert p.tolist() == [[2.0, -3.0, 3.0, -2.0], [0.0, 0.0, 0.0, 0.0], [5.0, 6.0, 5.0, 6.0]]


def test_edge_head_uses_xi_xj_and_difference():
    h = EdgeHead(2, 1, hidden_channels=4)
    lin = h.mlp[0]
    x = torch.randn(4, 2)
    ei = torch.tensor([[0, 3], [1, 2]])  # j -> i
    hid = torch.relu(lin(torch.cat([x[[1, 2]], x[[0, 3]], x[[1, 2]] - x[[0, 3]]], 1)))
    torch.testing.assert_close(h(x, ei), h.mlp[2](hid))
    assert "3 x 2 -> 1" in repr(h)


def test_event_and_hit_heads_shapes():
    assert EventHead(6, 3)(torch.randn(2, 6)).shape == (2, 3)
    assert HitHead(5, 4)(torch.randn(7, 5)).shape == (7, 4)
