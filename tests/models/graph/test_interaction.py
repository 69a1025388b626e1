from __future__ import annotations

import torch

from hepgraph.events import collate_events
from hepgraph.models import create_model


def test_uses_batch_edges_or_layer_graph(event_factory):
    b = collate_events(event_factory([30, 20], seed=2, layers=4), features=["charge"])
    m = create_model("interaction-network", in_channels=1, level="edge", out_channels=1,
                     hidden_channels=8, num_iterations=1, graph="layers",
                     graph_kwargs={"dphi": 1.0})
    out = m(b)
    lay = b.hit["layer"]
    ei = out["edge_index"]
    assert ei.shape[1] > 0 and torch.equal(lay[ei[1]], lay[ei[0]] + 1)
    b.edge_index = torch.tensor([[0, 1, 30], [1, 2, 31]])
    out = m(b)
    assert torch.equal(out["edge_index"], b.edge_index) and out["out"].shape == (3, 1)
