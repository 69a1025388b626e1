"""track-gnn: graph learned in prepare(), carried by the state dict; triplets through hits."""

from __future__ import annotations

import pyarrow as pa
import pytest
import torch

import hepgraph.sources  # noqa: F401
from hepgraph.errors import ConfigError
from hepgraph.events import collate_events, table_to_events
from hepgraph.models import create_model
from hepgraph.models.graph.track_gnn import triplet_candidates
from hepgraph.registry import SOURCES

FEATURES = [["x", 0.0, 0.02], ["y", 0.0, 0.02], ["z", 0.0, 0.001]]


class _List(list):
    manifest: dict = {}


@pytest.fixture(scope="module")
def data():
    src = SOURCES.get("sim-forward-planes")(seed=2, params={"block_size": 16, "tracks_per_collision": 8,
                                                            "collisions": 1})
    evs = table_to_events(pa.concat_tables([t for task in src.plan(16) for t in src.read(task)]))
    train, val = _List(evs[:12]), _List(evs[12:])
    train.manifest = val.manifest = {"extra": src.info().extra}
    return train, val


def small(**kw):
    return create_model("track-gnn", in_channels=3, level="edge", out_channels=1, hidden_channels=8,
                        num_iterations=1, head_hidden=8, extent=[[-50, 50], [-50, 50], [-300, 800]], **kw)


def test_triplet_candidates_by_hand():
    ei = torch.tensor([[0, 1, 1, 2], [1, 2, 3, 1]])
    t = triplet_candidates(ei, 4)
    assert sorted(map(tuple, t.T.tolist())) == [(0, 1), (0, 2), (3, 2)]  # 1->2->1 excluded
    assert triplet_candidates(ei, 4, torch.tensor([True, False, True, True])).shape[1] == 2


@pytest.mark.slow
def test_prepare_learns_the_graph_and_a_checkpoint_carries_it(data):
    train, val = data
    m = small(filter_keep=0.99)
    rep = m.prepare(train, val)
    assert rep["edge_efficiency"] > 0.85 and 0 < rep["edge_purity"] <= 1 and m.data_columns == ("layer",)
    batch = collate_events(list(val[:2]), FEATURES)
    out = m.eval()(batch)
    e = out["edge_index"]
    assert out["out"].shape == (e.shape[1], 1) and torch.equal(batch.batch[e[0]], batch.batch[e[1]])
    t = out["triplets"]
    assert out["triplet_out"].shape == (t.shape[1],) and torch.equal(e[1, t[0]], e[0, t[1]])
    fresh = small(filter_keep=0.99)
    fresh.load_state_dict(m.state_dict())
    assert fresh.data_columns == ("layer",) and fresh.graph_report == m.graph_report
    torch.testing.assert_close(fresh.eval()(batch)["out"], out["out"])


def test_knn_before_prepare_and_bad_settings():
    import numpy as np

    from hepgraph.events import collate_events as ce

    ev = {"event_id": 0, "x": np.arange(20.0, dtype=np.float32), "y": np.zeros(20, np.float32),
          "z": np.arange(20.0, dtype=np.float32)}
    out = small()(ce([ev], FEATURES))
    assert out["edge_index"].shape[1] == 20 * 8
    with pytest.raises(ConfigError, match="graph"):
        small(graph="layers")
    with pytest.raises(ConfigError, match="filter_keep"):
        small(filter_keep=0.0)
