from __future__ import annotations

import numpy as np
import pytest

from hepgraph.metrics.classification import (
    accuracy,
    confusion_matrix,
    efficiency_purity,
    normalise_rows,
    per_class_scores,
    roc_auc,
    roc_auc_per_class,
)


def test_accuracy_and_confusion_by_hand():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    assert accuracy(y, p) == pytest.approx(4 / 6)
    cm = confusion_matrix(y, p, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert normalise_rows(cm)[0].tolist() == [0.5, 0.5, 0.0]
    s = per_class_scores(cm)
    # class 0: tp 1, predicted 2, true 2 -> precision 0.5, recall 0.5, IoU 1/3
    assert s["precision"][0] == pytest.approx(0.5)
    assert s["recall"][0] == pytest.approx(0.5)
    assert s["iou"][0] == pytest.approx(1 / 3)
    # class 1: tp 2, predicted 3, true 2 -> precision 2/3, recall 1, IoU 2/3
    assert s["precision"][1] == pytest.approx(2 / 3)
    assert s["iou"][1] == pytest.approx(2 / 3)


def test_empty_class_is_nan():
    s = per_class_scores(confusion_matrix(np.array([0, 0]), np.array([0, 0]), 2))
    assert np.isnan(s["precision"][1]) and np.isnan(s["iou"][1])
    assert np.isnan(accuracy(np.zeros(0), np.zeros(0)))


def test_roc_auc_by_hand():
    # Pairs (pos, neg): scores pos {0.9, 0.4}, neg {0.5, 0.1}: 3 of 4 pairs ordered -> 0.75
    y = np.array([1, 1, 0, 0])
    s = np.array([0.9, 0.4, 0.5, 0.1])
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert np.isnan(roc_auc(np.ones(3), np.ones(3)))
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    aucs = roc_auc_per_class(np.array([0, 1, 0]), probs)
    assert aucs.tolist() == [1.0, 1.0]


def test_efficiency_purity_by_hand():
    y = np.array([1, 1, 1, 0, 0])
    s = np.array([0.9, 0.6, 0.2, 0.7, 0.1])
    eff, pur = efficiency_purity(y, s, 0.5)  # selected: 0.9, 0.6, 0.7 -> 2 true of 3
    assert eff == pytest.approx(2 / 3) and pur == pytest.approx(2 / 3)
    eff, pur = efficiency_purity(y, s, np.array([0.0, 0.8, 0.95]))
    assert eff.tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    assert pur[0] == pytest.approx(3 / 5) and pur[1] == 1.0 and np.isnan(pur[2])
