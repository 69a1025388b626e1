from __future__ import annotations

import torch

from hepgraph.models.transformer.point_transformer import PointTransformerLayer


def test_vector_attention_matches_formula():
    torch.manual_seed(0)
    layer = PointTransformerLayer(4)
    x, pos = torch.randn(5, 4), torch.randn(5, 3)
    ei = torch.tensor([[0, 1, 2, 1, 3], [0, 0, 0, 1, 1]])  # neighbours of 0: {0,1,2}; of 1: {1,3}
    out = layer(x, pos, ei)
    q, k, v = layer.lin_q(x), layer.lin_k(x), layer.lin_v(x)
    for i, nb in [(0, [0, 1, 2]), (1, [1, 3])]:
        delta = layer.pos_nn(pos[i] - pos[nb])
        a = torch.softmax(layer.attn_nn(q[i] - k[nb] + delta), dim=0)  # per channel over neighbours
        torch.testing.assert_close(out[i], (a * (v[nb] + delta)).sum(0))
    assert torch.equal(out[2:], torch.zeros(3, 4))  # no incoming edges
