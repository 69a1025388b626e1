from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepgraph.errors import DataError
from hepgraph.tasks.edges import EdgeClassificationTask, edge_truth, focal_loss


def test_edge_truth_by_hand():
    tid = torch.tensor([5, 5, -1, -1, 7])
    ei = torch.tensor([[0, 0, 2, 1, 4], [1, 4, 3, 2, 4]])
    assert edge_truth(ei, tid).tolist() == [True, False, False, False, True]


def test_focal_loss_formula():
    logits = torch.tensor([2.0, -1.0, 0.5])
    t = torch.tensor([1.0, 0.0, 0.0])
    p = torch.sigmoid(logits)
    pt = torch.where(t > 0, p, 1 - p)
    at = torch.where(t > 0, torch.tensor(0.25), torch.tensor(0.75))
    want = (-at * (1 - pt) ** 2 * torch.log(pt)).mean()
    assert torch.allclose(focal_loss(logits, t, 2.0, 0.25), want, atol=1e-6)


def test_bce_auto_pos_weight_and_metrics(toy_batch):
    task = EdgeClassificationTask(loss="bce", pos_weight="auto")
    ei = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 3]])
    toy_batch.edge_index = ei
    y = edge_truth(ei, toy_batch.hit["track_id"]).float()
    logits = torch.tensor([[1.0], [-1.0], [0.5], [0.0]])
    res = task({"out": logits}, toy_batch)
    npos = y.sum().clamp(min=1)
    pw = ((4 - y.sum()) / npos).clamp(min=1.0)
    assert torch.allclose(res["loss"], F.binary_cross_entropy_with_logits(logits.view(-1), y, pos_weight=pw))
    m = task.metrics(task.collect(res, toy_batch))
    assert 0 <= m["efficiency"] <= 1
    cols = task.predictions(res, toy_batch)
    assert cols["hit_id_src"].tolist() == [1000, 1000, 1001, 1002]


def test_edges_need_track_id():
    with pytest.raises(DataError, match="`track_id`"):
        EdgeClassificationTask().check({"columns": {"x": {}}})


def _event_with_vertices():
    import numpy as np

    # particle 3 from z = 100 going to -z (hits at z 90, 60, 30: the nearest first), particle 8
    # from the origin going outwards, one noise hit; stored in a scrambled order
    return {"event_id": 0, "x": np.zeros(7, np.float32), "y": np.zeros(7, np.float32),
            "z": np.array([30.0, 200.0, 90.0, 100.0, 60.0, 300.0, 5.0], np.float32),
            "track_id": np.array([3, 8, 3, 8, 3, 8, -1]), "particle_id": np.array([3, 8]),
            "particle_vx": np.zeros(2, np.float32), "particle_vy": np.zeros(2, np.float32),
            "particle_vz": np.array([100.0, 0.0], np.float32)}


def test_hit_ranks_follow_the_distance_from_the_vertex():
    from hepgraph.events import collate_events
    from hepgraph.tasks.edges import hit_ranks

    b = collate_events([_event_with_vertices()], ["x"])
    assert hit_ranks(b).tolist() == [2, 1, 0, 0, 1, 2, -1]


def test_segment_truth_needs_consecutive_hits():
    from hepgraph.events import collate_events

    b = collate_events([_event_with_vertices()], ["x"])
    ei = torch.tensor([[2, 4, 2, 3, 1, 6], [4, 0, 0, 1, 5, 0]])   # 90-60, 60-30, skip 90-30, ...
    task = EdgeClassificationTask(truth="segment")
    assert task.targets(b, ei)["y"].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    assert EdgeClassificationTask().targets(b, ei)["y"].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert {"particle_vz", "particle_id"} <= set(task.columns)


def test_triplet_loss_is_added_with_its_truth():
    from hepgraph.events import collate_events

    b = collate_events([_event_with_vertices()], ["x"])
    ei = torch.tensor([[2, 4, 3], [4, 0, 1]])
    trip = torch.tensor([[0, 2], [1, 1]])                    # pairs of true segments: true
    tl = torch.tensor([1.5, -0.5])
    out = {"out": torch.zeros(3, 1), "edge_index": ei, "triplets": trip, "triplet_out": tl}
    base = EdgeClassificationTask(loss="bce", pos_weight=1.0, truth="segment", triplet_weight=0.0)(out, b)["loss"]
    task = EdgeClassificationTask(loss="bce", pos_weight=1.0, truth="segment", triplet_weight=0.5)
    want = base + 0.5 * F.binary_cross_entropy_with_logits(tl, torch.tensor([1.0, 1.0]))
    assert torch.allclose(task(out, b)["loss"], want)


def test_bad_truth_and_weights():
    from hepgraph.errors import ConfigError

    with pytest.raises(ConfigError, match="task.truth"):
        EdgeClassificationTask(truth="hits")
    with pytest.raises(ConfigError, match="calibrate_events"):
        EdgeClassificationTask(calibrate_events=-1)
