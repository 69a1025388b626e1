from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import DataError
from hepgraph.metrics.classification import (
    accuracy,
    auc_per_pair,
    class_pairs,
    confusion_matrix,
    efficiency_purity,
    normalise_rows,
    pair_subset,
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


def test_auc_per_pair_by_hand():
    # Classes 0, 1, 2; two events each. Pair scores p_i / (p_i + p_j):
    probs = np.array([
        [0.6, 0.3, 0.1],   # y=0: 0-1 -> 2/3, 0-2 -> 6/7
        [0.2, 0.2, 0.6],   # y=0: 0-1 -> 1/2, 0-2 -> 1/4
        [0.5, 0.4, 0.1],   # y=1: 0-1 -> 5/9, 1-2 -> 4/5
        [0.1, 0.8, 0.1],   # y=1: 0-1 -> 1/9, 1-2 -> 8/9
        [0.3, 0.1, 0.6],   # y=2: 0-2 -> 1/3, 1-2 -> 1/7
        [0.1, 0.6, 0.3],   # y=2: 0-2 -> 1/4, 1-2 -> 2/3
    ])
    y = np.array([0, 0, 1, 1, 2, 2])
    t, s = pair_subset(y, probs, 0, 1)
    assert t.tolist() == [True, True, False, False]
    assert s == pytest.approx([2 / 3, 1 / 2, 5 / 9, 1 / 9])
    aucs = auc_per_pair(y, probs)
    assert list(aucs) == ["0-1", "0-2", "1-2"]
    # 0-1: positives {2/3, 1/2} vs negatives {5/9, 1/9}: ordered pairs 2/3>5/9, 2/3>1/9, 1/2>1/9 -> 3/4
    assert aucs["0-1"] == pytest.approx(0.75)
    # 0-2: positives {6/7, 1/4} vs {1/3, 1/4}: 6/7 wins twice, 1/4 < 1/3, 1/4 = 1/4 (tie = 1/2) -> 2.5/4
    assert aucs["0-2"] == pytest.approx(0.625)
    # 1-2: positives {4/5, 8/9} vs {1/7, 2/3}: all 4 ordered -> 1
    assert aucs["1-2"] == pytest.approx(1.0)


def test_auc_per_pair_ignores_other_classes_and_zero_sums():
    # The third class's probability does not move the pair score; p_i = p_j = 0 scores 0.5.
    y = np.array([0, 1, 0, 1])
    probs = np.array([[0.1, 0.0, 0.9], [0.0, 0.05, 0.95], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    t, s = pair_subset(y, probs, 0, 1)
    assert s.tolist() == [1.0, 0.0, 0.5, 0.5]
    # Class 2 has no event: the pairs with it are NaN.
    aucs = auc_per_pair(y, probs)
    assert np.isnan(aucs["0-2"]) and np.isnan(aucs["1-2"])
    assert class_pairs(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    with pytest.raises(DataError, match="auc_per_pair"):
        auc_per_pair(np.array([0, 1]), np.array([0.2, 0.8]))


def test_auc_per_pair_matches_sklearn_on_the_subset():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    k, n = 4, 400
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    aucs = auc_per_pair(y, probs)
    for i, j in class_pairs(k):
        sel = (y == i) | (y == j)
        want = roc_auc_score(y[sel] == i, probs[sel, i] / (probs[sel, i] + probs[sel, j]))
        assert aucs[f"{i}-{j}"] == pytest.approx(want, abs=1e-12)
        # The j-vs-i direction with the complementary score gives the same AUC.
        rev = roc_auc_score(y[sel] == j, probs[sel, j] / (probs[sel, i] + probs[sel, j]))
        assert rev == pytest.approx(want, abs=1e-12)
