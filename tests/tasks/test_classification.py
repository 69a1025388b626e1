from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hepgraph.errors import ConfigError, DataError
from hepgraph.tasks.classification import ClassificationTask, TrackCountTask


def test_classification_loss_metrics_predictions(toy_batch, toy_manifest):
    task = ClassificationTask()
    task.check(toy_manifest)
    assert task.out_channels == 2 and task.names() == ["low", "high"]
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    res = task({"out": logits}, toy_batch)
    y = torch.tensor([0, 1, 0, 1])  # label = event_id % 2
    assert torch.allclose(res["loss"], F.cross_entropy(logits, y))
    m = task.metrics(task.collect(res, toy_batch))
    assert m["accuracy"] == 1.0 and m["auc"] == 1.0
    assert m["confusion_matrix"] == [[2, 0], [0, 2]]
    cols = task.predictions({"output": task.infer({"out": logits}, toy_batch)}, toy_batch)
    assert cols["event_id"].tolist() == [0, 1, 2, 3]
    assert cols["pred"].tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(cols["prob_high"], torch.softmax(logits, 1)[:, 1].numpy(), rtol=1e-6)


def test_multiclass_metrics_and_class_weights(toy_batch):
    task = ClassificationTask(num_classes=3, class_weights=[1.0, 2.0, 3.0])
    logits = torch.randn(4, 3)
    res = task({"out": logits}, toy_batch)
    want = F.cross_entropy(logits, toy_batch.event["label"].long(), weight=torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(res["loss"], want)
    m = task.metrics(task.collect(res, toy_batch))
    assert len(m["auc_per_class"]) == 3 and "auc_macro" in m
    assert list(m["auc_per_pair"]) == ["0-1", "0-2", "1-2"]
    assert m["class_names"] == ["0", "1", "2"]


def test_balanced_weights_from_fit():
    task = ClassificationTask(num_classes=2, class_weights="balanced")
    task.fit({"label": np.array([0, 0, 0, 1])})
    # inverse frequency normalised: 4/(3*2), 4/(1*2)
    assert task.weight.tolist() == pytest.approx([2 / 3, 2.0])


def test_track_count_clips_to_last_class(toy_batch, toy_manifest):
    task = TrackCountTask(num_classes=3)
    task.check(toy_manifest)
    y = task.targets(toy_batch)["y"]
    assert y.max() <= 2
    assert task.names()[-1] == ">=2"
    t2 = TrackCountTask()
    t2.fit({"n_tracks": np.array([1, 2, 3])})
    assert t2.out_channels == 4


def test_missing_labels_and_bad_options(toy_manifest):
    m = dict(toy_manifest, columns={"x": {}, "y": {}, "z": {}})
    with pytest.raises(DataError, match="`label`"):
        ClassificationTask().check(m)
    with pytest.raises(ConfigError):
        ClassificationTask(label_smoothing=1.5)
    with pytest.raises(ConfigError, match="num_classes"):
        _ = ClassificationTask().out_channels


def test_one_class_says_auc_is_undefined_instead_of_nan(toy_batch, caplog):
    """Every label the same: training warns, and the metrics hold no NaN AUC but a note saying why."""
    import logging

    task = ClassificationTask(num_classes=2, class_names=["a", "b"])
    with caplog.at_level(logging.WARNING, logger="hepgraph"):
        task.fit({"label": np.zeros(37, np.int64)})
    assert "class a" in caplog.text and "AUC is undefined" in caplog.text
    toy_batch.event["label"] = torch.zeros(4, dtype=torch.int32)
    m = task.metrics(task.collect(task({"out": torch.randn(4, 2)}, toy_batch), toy_batch))
    assert m["accuracy"] in (0.0, 0.25, 0.5, 0.75, 1.0) and "auc" not in m
    assert all(np.isfinite(v) for v in m.values() if isinstance(v, float))
    assert "one class only (a)" in m["notes"][0]
    multi = ClassificationTask(num_classes=3)
    m3 = multi.metrics({"probs": np.full((4, 3), 1 / 3), "y": np.ones(4, np.int64)})
    assert "auc_macro" not in m3 and "one class only (1)" in m3["notes"][0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hepgraph"):
        task.fit({"label": np.array([0, 1, 0])})
    assert not caplog.text
