"""Evaluation plots (PNG) for every task, drawn with matplotlib's Agg backend.

:func:`plot_task` dispatches on the task and returns the written files:

- classification / track-count: normalised confusion matrix with class names, ROC per class
  (one vs rest) and, for K >= 3 classes, ROC per pair of classes (one vs one);
- regression (per target): residuals, pulls, bias and resolution vs the true value,
  predicted vs true 2D histogram, sigma calibration (coverage of |pull| < k);
- segmentation: per-class precision / recall / IoU, normalised confusion matrix;
- edge classification: ROC, efficiency and purity vs threshold;
- condensation: beta of track and noise hits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.metrics.classification import class_pairs, efficiency_purity, normalise_rows, pair_subset, roc_auc
from hepgraph.metrics.regression import binned_bias_resolution, pulls


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _plt().close(fig)
    return path


def confusion_matrix_plot(cm: np.ndarray, names: Sequence[str], path: Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (true class per row) with the class names."""
    plt = _plt()
    k = len(names)
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * k, 1.0 + 0.6 * k))
    norm = normalise_rows(cm)
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center",
                        color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title or "confusion matrix (row-normalised)")
    return _save(fig, path)


def roc_plot(y_true: np.ndarray, probs: np.ndarray, names: Sequence[str], path: Path) -> Path:
    """One-vs-rest ROC curve and AUC per class (binary: the positive class only)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    classes = [1] if probs.shape[1] == 2 else range(probs.shape[1])
    for k in classes:
        t = np.asarray(y_true) == k
        if t.all() or not t.any():
            continue
        fpr, tpr, _ = roc_curve(t, probs[:, k])
        ax.plot(fpr, tpr, label=f"{names[k]} (AUC {roc_auc_score(t, probs[:, k]):.3f})")
    _finish_roc(ax, "ROC", "false positive rate", "true positive rate", 8)
    return _save(fig, path)


def roc_pair_plot(y_true: np.ndarray, probs: np.ndarray, names: Sequence[str], path: Path) -> Path:
    """One-vs-one ROC curve and AUC per pair of classes (K >= 3).

    For the pair ``(i, j)``: events of true class ``i`` or ``j``, score ``p_i / (p_i + p_j)``,
    class ``i`` positive (:func:`hepgraph.metrics.classification.pair_subset`). Pairs with
    an empty class are skipped.

    Args:
        y_true: (N,) integer classes.
        probs: (N, K) class probabilities.
        names: the K class names.
        path: PNG file to write.
    """
    from sklearn.metrics import roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, j in class_pairs(probs.shape[1]):
        t, s = pair_subset(y_true, probs, i, j)
        if t.all() or not t.any():
            continue
        fpr, tpr, _ = roc_curve(t, s)
        ax.plot(fpr, tpr, label=f"{names[i]} vs {names[j]} (AUC {roc_auc(t, s):.3f})")
    _finish_roc(ax, "ROC per pair of classes (one vs one)",
                "false positive rate (second class called first)", "true positive rate (first class)", 7)
    return _save(fig, path)


def _finish_roc(ax: Any, title: str, xlabel: str, ylabel: str, fontsize: int) -> None:
    """Chance diagonal, axis labels, title and legend of a ROC plot."""
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=fontsize)


def regression_plots(name: str, y: np.ndarray, pred: np.ndarray, sigma: np.ndarray | None,
                     out: Path, unit: str = "") -> list[Path]:
    """Residuals, pulls, binned bias/resolution, pred-vs-true and sigma calibration for one target."""
    plt = _plt()
    u = f" [{unit}]" if unit else ""
    r = pred - y
    files = []
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.hist(r, bins=50, histtype="step")
    ax.set_xlabel(f"{name} predicted - true{u}")
    ax.set_ylabel("events")
    ax.set_title(f"{name}: bias {r.mean():.3g}, resolution {r.std():.3g}")
    files.append(_save(fig, out / f"{name}_residuals.png"))
    b = binned_bias_resolution(y, pred, bins=10)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(b["centres"], b["bias"], xerr=np.diff(b["edges"]) / 2, fmt="o", label="bias")
    ax.plot(b["centres"], b["resolution"], "s-", label="resolution")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel(f"true {name}{u}")
    ax.set_ylabel(f"residual{u}")
    ax.legend()
    files.append(_save(fig, out / f"{name}_bias_resolution.png"))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    h = ax.hist2d(y, pred, bins=40, range=[[lo, hi], [lo, hi]], cmin=1)
    ax.plot([lo, hi], [lo, hi], "r--", lw=1)
    fig.colorbar(h[3], ax=ax)
    ax.set_xlabel(f"true {name}{u}")
    ax.set_ylabel(f"predicted {name}{u}")
    files.append(_save(fig, out / f"{name}_pred_vs_true.png"))
    if sigma is not None:
        p = pulls(y, pred, sigma)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.hist(np.clip(p, -6, 6), bins=60, range=(-6, 6), density=True, histtype="step", label="pulls")
        xs = np.linspace(-6, 6, 200)
        ax.plot(xs, np.exp(-xs**2 / 2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0, 1)")
        ax.set_xlabel(f"{name} pull (pred - true) / sigma")
        ax.set_title(f"mean {p.mean():.2f}, std {p.std():.2f}")
        ax.legend()
        files.append(_save(fig, out / f"{name}_pulls.png"))
        from math import erf, sqrt

        ks = np.linspace(0.25, 3, 12)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(ks, [np.mean(np.abs(p) < k) for k in ks], "o-", label="observed")
        ax.plot(ks, [erf(k / sqrt(2)) for k in ks], "k--", label="Gaussian")
        ax.set_xlabel("k")
        ax.set_ylabel("fraction |pull| < k")
        ax.set_title(f"{name}: sigma calibration")
        ax.legend()
        files.append(_save(fig, out / f"{name}_sigma_calibration.png"))
    return files


def per_class_plot(metrics: Mapping[str, Any], names: Sequence[str], path: Path) -> Path:
    """Grouped bars of per-class precision, recall and IoU."""
    plt = _plt()
    k = len(names)
    fig, ax = plt.subplots(figsize=(2 + 0.8 * k, 4))
    x = np.arange(k)
    for i, key in enumerate(("precision_per_class", "recall_per_class", "iou_per_class")):
        vals = np.array([np.nan if v is None else v for v in metrics.get(key, [np.nan] * k)], float)
        ax.bar(x + (i - 1) * 0.27, np.nan_to_num(vals), width=0.27, label=key.split("_")[0])
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("per-class scores")
    return _save(fig, path)


def edge_plots(y: np.ndarray, score: np.ndarray, out: Path) -> list[Path]:
    """Edge ROC, and efficiency / purity vs the score threshold."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    y = np.asarray(y) > 0.5
    files = []
    fig, ax = plt.subplots(figsize=(5, 4.5))
    if y.any() and not y.all():
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, label=f"AUC {roc_auc_score(y, score):.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (edge efficiency)")
    ax.legend()
    files.append(_save(fig, out / "edge_roc.png"))
    thr = np.linspace(0.0, 0.99, 100)
    eff, pur = efficiency_purity(y, score, thr)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(thr, eff, label="efficiency")
    ax.plot(thr, pur, label="purity")
    ax.set_xlabel("score threshold")
    ax.set_ylim(0, 1.05)
    ax.legend()
    files.append(_save(fig, out / "edge_efficiency_purity.png"))
    return files


def beta_plot(beta: np.ndarray, noise: np.ndarray, path: Path) -> Path:
    """Condensation strength of track hits vs noise hits."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.hist(beta[~noise], bins=50, range=(0, 1), histtype="step", density=True, label="track hits")
    if noise.any():
        ax.hist(beta[noise], bins=50, range=(0, 1), histtype="step", density=True, label="noise hits")
    ax.set_xlabel("beta")
    ax.legend()
    return _save(fig, path)


def plot_task(task: Any, acc: Mapping[str, np.ndarray], metrics: Mapping[str, Any], out: Path) -> list[Path]:
    """Write the plots of ``task`` from its collected arrays; returns the files."""
    out = Path(out)
    name = task.name
    if name in ("classification", "track-count"):
        names = task.names()
        files = [confusion_matrix_plot(np.asarray(metrics["confusion_matrix"]), names, out / "confusion_matrix.png"),
                 roc_plot(acc["y"], acc["probs"], names, out / "roc.png")]
        if np.asarray(acc["probs"]).shape[1] >= 3:
            files.append(roc_pair_plot(acc["y"], acc["probs"], names, out / "roc_pairs.png"))
        return files
    if name == "regression":
        from hepgraph.events.schema import unit_of

        files = []
        for i, t in enumerate(task.target_names):
            sig = acc["sigma"][:, i] if "sigma" in acc else None
            files += regression_plots(t, acc["y"][:, i], acc["mean"][:, i], sig, out, unit_of(t))
        return files
    if name == "segmentation":
        names = task.names()
        return [per_class_plot(metrics, names, out / "per_class.png"),
                confusion_matrix_plot(np.asarray(metrics["confusion_matrix"]), names, out / "confusion_matrix.png")]
    if name == "edge-classification":
        return edge_plots(acc["y"], acc["score"], out)
    if name == "condensation":
        return [beta_plot(acc["beta"], np.asarray(acc["noise"], bool), out / "beta.png")]
    return []
