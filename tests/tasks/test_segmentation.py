from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hepgraph.errors import DataError
from hepgraph.tasks.segmentation import SegmentationTask


def test_segmentation_perfect_prediction(toy_batch, toy_manifest):
    task = SegmentationTask()
    task.check(toy_manifest)
    y = toy_batch.hit["semantic"].long()
    logits = F.one_hot(y, 3).float() * 10
    res = task({"out": logits}, toy_batch)
    assert torch.allclose(res["loss"], F.cross_entropy(logits, y))
    m = task.metrics(task.collect(res, toy_batch))
    assert m["accuracy"] == 1.0 and m["mean_iou"] == 1.0
    cols = task.predictions(res, toy_batch)
    assert len(cols["hit_id"]) == toy_batch.num_hits
    assert cols["hit_id"][0] == 1000 and cols["event_id"][-1] == 3


def test_segmentation_iou_by_hand(toy_batch):
    task = SegmentationTask(num_classes=3)
    acc = {"y": np.array([0, 0, 1, 1, 2, -1]), "pred": np.array([0, 1, 1, 1, 0, 2])}
    m = task.metrics(acc)  # ignore_index -1 drops the last hit
    # class0: tp1 fp1 fn1 -> 1/3; class1: tp2 fp1 -> 2/3; class2: tp0 fn1 -> 0
    assert m["iou_per_class"] == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert m["mean_iou"] == pytest.approx(1 / 3)


def test_segmentation_needs_semantic(toy_manifest):
    with pytest.raises(DataError, match="`semantic`"):
        SegmentationTask().check(dict(toy_manifest, columns={"x": {}}))
