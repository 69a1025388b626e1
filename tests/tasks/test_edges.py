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
