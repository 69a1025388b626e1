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


def test_chunked_checkpointed_attention_gives_the_same_outputs_and_gradients(monkeypatch):
    import numpy as np

    import hepgraph.models.transformer.point_transformer as pt

    from hepgraph.events import collate_events
    from hepgraph.models import create_model

    rng = np.random.default_rng(0)
    events = []
    for e, n in enumerate((30, 9)):
        xyz = rng.uniform(-500, 500, (n, 3)).astype(np.float32)
        events.append({"event_id": e, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                       "charge": rng.uniform(0.1, 2, n).astype(np.float32)})
    b = collate_events(events, features=["charge"])
    grads = []
    for ckpt, chunk in ((True, 7), (False, 2**30), (False, 5)):  # chunks of whole neighbourhoods
        monkeypatch.setattr(pt, "EDGE_CHUNK", chunk)
        torch.manual_seed(0)
        m = create_model("point-transformer", in_channels=1, level="hit", out_channels=3,
                         hidden_channels=8, num_layers=2, k=4, checkpoint=ckpt).train()
        out = m(b)["out"]
        out.square().sum().backward()
        grads.append([out.detach()] + [p.grad.clone() for p in m.parameters()])
    for other in grads[1:]:
        for a, c in zip(grads[0], other):
            torch.testing.assert_close(a, c)


def test_unsorted_edges_are_sorted_first():
    torch.manual_seed(0)
    layer = PointTransformerLayer(4)
    x, pos = torch.randn(5, 4), torch.randn(5, 3)
    ei = torch.tensor([[0, 1, 2, 1, 3], [0, 0, 0, 1, 1]])
    perm = torch.tensor([3, 0, 4, 2, 1])
    torch.testing.assert_close(layer(x, pos, ei[:, perm]), layer(x, pos, ei))
