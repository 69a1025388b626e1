"""Classifier figures for talks: confusion matrix (counts and fractions) and ROC panels.

The ROC figure has three panels: the TPR/FPR ROC, signal efficiency vs background
rejection ``1 - eps_B``, and ``1/eps_B`` (log scale) vs signal efficiency, the HEP
conventions. Signal is each class in turn against all others (binary: the positive class).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hepgraph.metrics.classification import class_pairs, normalise_rows, pair_subset, roc_auc
from hepgraph.report.style import pyplot, save_figure, styled, title_with


def rejection_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal efficiency ``eps_S`` and background efficiency ``eps_B`` over all thresholds.

    Args:
        y_true: (N,) bool, signal = True.
        score: (N,) higher = more signal-like.

    Returns:
        ``(eps_S, eps_B)`` with one point per distinct score (cut ``score >= s``), from the
        tightest cut to the loosest, both non-decreasing; ``eps_S`` is the TPR and
        ``eps_B`` the FPR of the ROC.
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = np.cumsum(~y)[last]
    return tp / max(int(y.sum()), 1), fp / max(int((~y).sum()), 1)


def confusion_matrix_plot(cm: np.ndarray, names: Sequence[str], path: Path, title: str = "",
                          context: str = "") -> Path:
    """Confusion matrix: row fractions as colour and text, with the counts under each fraction.

    Args:
        cm: (K, K) counts, true class per row.
        names: the K class names.
        path: image to write.
        title: what is shown (default ``confusion matrix``).
        context: model, split and N (:func:`hepgraph.report.style.describe`).
    """
    return _confusion(np.asarray(cm), list(names), Path(path), title, context)


@styled
def _confusion(cm: np.ndarray, names: list[str], path: Path, title: str, context: str) -> Path:
    k = len(names)
    fig, ax = pyplot().subplots(figsize=(2.2 + 0.75 * k, 1.8 + 0.7 * k))
    norm = normalise_rows(cm)
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.grid(False)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{norm[i, j]:.2f}\n{int(cm[i, j]):,}", ha="center", va="center",
                        color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class (row)")
    title_with(ax, title or "confusion matrix (fraction, count)", context)
    return save_figure(fig, path)


def roc_plot(y_true: np.ndarray, probs: np.ndarray, names: Sequence[str], path: Path,
             context: str = "") -> Path:
    """ROC (TPR vs FPR), signal efficiency vs background rejection, and 1/eps_B (log) per class.

    Args:
        y_true: (N,) integer classes.
        probs: (N, K) class probabilities; the score of class k is ``probs[:, k]``.
        names: the K class names.
        path: image to write.
        context: model, split and N (:func:`hepgraph.report.style.describe`).
    """
    return _roc(np.asarray(y_true), np.asarray(probs), list(names), Path(path), context)


@styled
def _roc(y_true: np.ndarray, probs: np.ndarray, names: list[str], path: Path, context: str) -> Path:
    fig, axes = pyplot().subplots(1, 3, figsize=(15, 4.8))
    classes = [1] if probs.shape[1] == 2 else range(probs.shape[1])
    for k in classes:
        t = y_true == k
        if t.all() or not t.any():
            continue
        eff_s, eff_b = rejection_curve(t, probs[:, k])
        label = f"{names[k]} (AUC {roc_auc(t, probs[:, k]):.3f})"
        axes[0].plot(np.r_[0, eff_b], np.r_[0, eff_s], label=label)
        axes[1].plot(np.r_[0, eff_s], 1 - np.r_[0, eff_b], label=names[k])
        ok = eff_b > 0
        axes[2].plot(eff_s[ok], 1 / eff_b[ok], label=names[k])
    axes[0].plot([0, 1], [0, 1], "k:", lw=1, label="random")
    eps_s, eps_b = r"signal efficiency $\varepsilon_S$", r"$\varepsilon_B$"
    axes[0].set(xlabel=f"false positive rate (background efficiency {eps_b})",
                ylabel=f"true positive rate ({eps_s})", xlim=(0, 1), ylim=(0, 1.02))
    axes[1].set(xlabel=eps_s, ylabel=f"background rejection 1 - {eps_b}", xlim=(0, 1), ylim=(0, 1.02))
    axes[2].set(xlabel=eps_s, ylabel=f"background rejection 1 / {eps_b}", yscale="log", xlim=(0, 1))
    titles = ("ROC (one class vs the rest)", "efficiency vs rejection", "rejection (log scale)")
    for ax, title in zip(axes, titles):
        title_with(ax, title, context)
        if ax.get_legend_handles_labels()[0]:  # empty when the events hold one class only
            ax.legend(loc="lower right" if ax is axes[0] else "lower left")
    return save_figure(fig, path)


def roc_pair_plot(y_true: np.ndarray, probs: np.ndarray, names: Sequence[str], path: Path,
                  context: str = "") -> Path:
    """One-vs-one ROC curve and AUC per pair of classes (K >= 3).

    For the pair ``(i, j)``: events of true class ``i`` or ``j``, score ``p_i / (p_i + p_j)``,
    class ``i`` positive (:func:`hepgraph.metrics.classification.pair_subset`). Pairs with
    an empty class are skipped.

    Args:
        y_true: (N,) integer classes.
        probs: (N, K) class probabilities.
        names: the K class names.
        path: image to write.
        context: model, split and N (:func:`hepgraph.report.style.describe`).
    """
    return _pairs(np.asarray(y_true), np.asarray(probs), list(names), Path(path), context)


@styled
def _pairs(y_true: np.ndarray, probs: np.ndarray, names: list[str], path: Path, context: str) -> Path:
    fig, ax = pyplot().subplots(figsize=(6, 5.5))
    for i, j in class_pairs(probs.shape[1]):
        t, s = pair_subset(y_true, probs, i, j)
        if t.all() or not t.any():
            continue
        eff_s, eff_b = rejection_curve(t, s)
        ax.plot(np.r_[0, eff_b], np.r_[0, eff_s], label=f"{names[i]} vs {names[j]} (AUC {roc_auc(t, s):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate (second class called first)",
           ylabel="true positive rate (first class)", xlim=(0, 1), ylim=(0, 1.02))
    title_with(ax, "ROC per pair of classes (one vs one)", context)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
