"""HitBatch <-> PyG: round trip, to_data_list, a loader and real PyG layers; awkward input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import DataError
from hepgraph.events import collate_events
from hepgraph.events.hitbatch import HitBatch


def _events():
    rng = np.random.default_rng(0)
    out = []
    for e, n in enumerate((5, 0, 7)):  # an empty event in the middle
        out.append({"event_id": 100 + e, "x": rng.normal(size=n).astype(np.float32),
                    "y": rng.normal(size=n).astype(np.float32), "z": rng.normal(size=n).astype(np.float32),
                    "charge": rng.uniform(1, 2, n).astype(np.float32), "semantic": rng.integers(0, 3, n),
                    "track_id": rng.integers(-1, 3, n), "label": e % 2, "px": 0.5 * e,
                    "particle_id": np.arange(e + 1), "particle_pdg": np.full(e + 1, 13)})
    return out


def _batch():
    b = collate_events(_events())
    b.edge_index = torch.tensor([[0, 1, 5, 6, 11], [1, 0, 6, 11, 5]])  # edges inside events 0 and 2
    return b


def test_round_trip_keeps_every_column():
    b = _batch()
    g = b.to_pyg()
    assert g.num_graphs == 3 and g.ptr.tolist() == [0, 5, 5, 12]
    assert torch.equal(g.y, b.event["label"]) and torch.equal(g.event_id, torch.tensor([100, 101, 102]))
    assert torch.equal(g.semantic, b.hit["semantic"]) and torch.equal(g.edge_index, b.edge_index)
    back = HitBatch.from_pyg(g)
    assert torch.equal(back.pos, b.pos) and torch.equal(back.feats, b.feats) and torch.equal(back.ptr, b.ptr)
    assert torch.equal(back.event_id, b.event_id) and torch.equal(back.edge_index, b.edge_index)
    for k in b.hit:
        assert torch.equal(back.hit[k], b.hit[k]), k
    for k in b.event:
        assert torch.equal(back.event[k], b.event[k]), k
    assert torch.equal(back.particle_ptr, b.particle_ptr)
    assert torch.equal(back.particle["particle_id"], b.particle["particle_id"])


def test_to_data_list_and_per_hit_y():
    b = _batch()
    data = b.to_pyg(y="semantic").to_data_list()
    assert [d.num_nodes for d in data] == [5, 0, 7]
    assert data[2].event_id.item() == 102 and data[2].label.item() == 0 and data[2].px.item() == 1.0
    assert torch.equal(data[2].y, b.hit["semantic"][5:])
    assert data[2].edge_index.tolist() == [[0, 1, 6], [1, 6, 0]]  # local indices
    assert data[2].particle_id.tolist() == [0, 1, 2] and data[2].num_particles.item() == 3
    with pytest.raises(DataError, match="not a column"):
        b.to_pyg(y="energy")
    b.edge_index = torch.tensor([[0], [6]])
    with pytest.raises(DataError, match="different events"):
        b.to_pyg()


def test_pyg_loader_and_layers_on_it():
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import EdgeConv, GCNConv, global_mean_pool

    b = _batch()
    data = b.to_pyg().to_data_list()
    batches = list(DataLoader(data, batch_size=2))
    assert [g.num_graphs for g in batches] == [2, 1]
    hb = HitBatch.from_pyg(batches[0])  # a loader's batch becomes a HitBatch again
    assert hb.batch_size == 2 and hb.num_hits == 5 and hb.event_id.tolist() == [100, 101]
    g = b.to_pyg()
    conv = GCNConv(g.num_features, 4)
    out = conv(g.x, g.edge_index)
    assert out.shape == (12, 4)
    # GCN only mixes hits joined by an edge: hits without an edge see only themselves
    lone = conv(g.x[[2]], torch.zeros(2, 0, dtype=torch.long))
    torch.testing.assert_close(out[2], lone[0])
    ec = EdgeConv(torch.nn.Linear(2 * g.num_features, 3), aggr="max")
    assert ec(g.x, g.edge_index).shape == (12, 3)
    pooled = global_mean_pool(out, g.batch, size=g.num_graphs)
    torch.testing.assert_close(pooled[0], out[:5].mean(0))


def test_collate_awkward_array_equals_dicts():
    ak = pytest.importorskip("awkward")
    evs = _events()
    arr = ak.Array([{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in ev.items()} for ev in evs])
    a, d = collate_events(arr), collate_events(evs)
    assert torch.equal(a.ptr, d.ptr) and torch.allclose(a.pos, d.pos) and torch.allclose(a.feats, d.feats)
    assert torch.equal(a.event_id, d.event_id) and torch.equal(a.hit["track_id"], d.hit["track_id"])
    assert torch.equal(a.event["label"], d.event["label"]) and torch.equal(a.particle_ptr, d.particle_ptr)
    bad = ak.Array([{"x": [1.0, 2.0], "y": [1.0, 2.0], "z": [0.0, 0.0], "charge": [1.0]}])
    with pytest.raises(DataError, match="`charge` has other list lengths"):
        collate_events(bad)
    with pytest.raises(DataError, match="no hit field `x`"):
        collate_events(ak.Array([{"a": 1}]))


def test_to_graph_carries_labels_and_splits():
    from hepgraph.represent.graph import to_graph

    b = collate_events(_events())
    g = to_graph(b, "knn", k=2)
    assert torch.equal(g.y, b.event["label"]) and torch.equal(g.track_id, b.hit["track_id"])
    parts = g.to_data_list()
    assert [p.num_nodes for p in parts] == [5, 0, 7] and parts[2].edge_index.max() < 7
