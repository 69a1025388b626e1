"""Classification metrics on numpy arrays: accuracy, confusion matrix, ROC AUC (per class, per pair).

Used for event classification, track counting, per-hit segmentation and (binary) edge
classification. Every function takes plain numpy arrays so it can be reused outside
training.

>>> accuracy(np.array([0, 1, 1]), np.array([0, 1, 0]))
0.6666666666666666
"""

from __future__ import annotations

import numpy as np

from hepgraph.errors import DataError


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of correct predictions (NaN for empty input).

    Args:
        y_true: (N,) integer classes.
        y_pred: (N,) integer classes.
    """
    y_true = np.asarray(y_true)
    if y_true.size == 0:
        return float("nan")
    return float(np.mean(y_true == np.asarray(y_pred)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of true class ``i`` predicted as ``j``.

    Args:
        y_true: (N,) integer classes in ``[0, num_classes)``.
        y_pred: (N,) integer classes in ``[0, num_classes)``.
        num_classes: K.

    Returns:
        (K, K) int64 matrix; rows are true classes.
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix (each true class sums to 1; empty rows stay 0)."""
    cm = np.asarray(cm, dtype=np.float64)
    tot = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, tot, out=np.zeros_like(cm), where=tot > 0)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and IoU per class from a confusion matrix (NaN where undefined).

    Returns:
        ``{"precision": (K,), "recall": (K,), "iou": (K,), "support": (K,)}``.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    pred = cm.sum(axis=0)
    true = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(pred > 0, tp / pred, np.nan)
        recall = np.where(true > 0, tp / true, np.nan)
        union = pred + true - tp
        iou = np.where(union > 0, tp / union, np.nan)
    return {"precision": precision, "recall": recall, "iou": iou, "support": true}


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Binary ROC AUC (scikit-learn); NaN when only one class is present.

    Args:
        y_true: (N,) 0/1 truth.
        scores: (N,) score, higher = more likely positive.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    if y_true.size == 0 or np.unique(y_true).size < 2:
        return float("nan")
    return float(roc_auc_score(y_true, scores))


def roc_auc_per_class(y_true: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC AUC for each class (NaN for classes absent or always present).

    Args:
        y_true: (N,) integer classes.
        probs: (N, K) class probabilities.

    Returns:
        (K,) AUC per class.
    """
    probs = np.asarray(probs)
    y_true = np.asarray(y_true)
    return np.array([roc_auc(y_true == k, probs[:, k]) for k in range(probs.shape[1])])


def class_pairs(num_classes: int) -> list[tuple[int, int]]:
    """The unordered class pairs ``(i, j)`` with ``i < j``, in lexicographic order."""
    return [(i, j) for i in range(num_classes) for j in range(i + 1, num_classes)]


def pair_subset(y_true: np.ndarray, probs: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Events of true class ``i`` or ``j`` with the one-vs-one score of ``i`` against ``j``.

    The score is ``p_i / (p_i + p_j)`` (0.5 where both are 0), the probability of ``i``
    renormalised to the two classes, so the other classes' probabilities do not move it.

    Args:
        y_true: (N,) integer classes.
        probs: (N, K) class probabilities.
        i: the positive class.
        j: the negative class.

    Returns:
        ``(is_i, score)``: (M,) bool truth (True = class ``i``) and (M,) float64 scores of
        the M events whose true class is ``i`` or ``j``.
    """
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    sel = (y == i) | (y == j)
    pi, pj = p[sel, i], p[sel, j]
    tot = pi + pj
    score = np.divide(pi, tot, out=np.full(pi.shape, 0.5), where=tot > 0)
    return y[sel] == i, score


def auc_per_pair(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """One-vs-one ROC AUC for every pair of classes.

    For the pair ``(i, j)``, ``i < j``: the events of true class ``i`` or ``j``, scored by
    ``p_i / (p_i + p_j)``, with class ``i`` positive (see :func:`pair_subset`). With this
    two-class score, ``j`` positive scored by ``p_j / (p_i + p_j)`` gives the same AUC, so one
    number per pair. (Hand & Till, and scikit-learn's ``multi_class="ovo"``, score with the raw
    ``p_i`` and ``p_j`` and average the two directions instead.) NaN when one of the two
    classes has no event.

    Args:
        y_true: (N,) integer classes in ``[0, K)``.
        probs: (N, K) class probabilities.

    Returns:
        ``{"i-j": AUC}`` for the ``K (K - 1) / 2`` pairs, keys in :func:`class_pairs` order.

    Raises:
        DataError: ``probs`` is not 2-D or has fewer than 2 columns, or its length is not N.

    >>> auc_per_pair(np.array([0, 1, 2]), np.eye(3))
    {'0-1': 1.0, '0-2': 1.0, '1-2': 1.0}
    """
    p = np.asarray(probs)
    y = np.asarray(y_true)
    if p.ndim != 2 or p.shape[1] < 2 or p.shape[0] != y.shape[0]:
        raise DataError(
            f"auc_per_pair needs probs of shape (N, K >= 2) with N = {y.shape[0]} events, "
            f"got `{p.shape}`"
        )
    out = {}
    for i, j in class_pairs(p.shape[1]):
        t, s = pair_subset(y, p, i, j)
        out[f"{i}-{j}"] = roc_auc(t, s)
    return out


def efficiency_purity(
    y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Efficiency (recall) and purity (precision) of ``scores > threshold``.

    Args:
        y_true: (N,) bool truth.
        scores: (N,) scores.
        thresholds: scalar or (T,) thresholds.

    Returns:
        ``(efficiency, purity)``, each shaped like ``thresholds`` (NaN where undefined).
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    thr = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    # Counts of positives / all above each threshold via sorting (O(N log N + T log N)).
    order = np.sort(s)
    pos_sorted = np.sort(s[y])
    n_sel = s.size - np.searchsorted(order, thr, side="right")
    n_tp = pos_sorted.size - np.searchsorted(pos_sorted, thr, side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(pos_sorted.size > 0, n_tp / max(pos_sorted.size, 1), np.nan)
        pur = np.where(n_sel > 0, n_tp / np.maximum(n_sel, 1), np.nan)
    if np.ndim(thresholds) == 0:
        return eff[0], pur[0]
    return eff, pur
