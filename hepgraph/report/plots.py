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

from hepgraph.metrics.classification import efficiency_purity
from hepgraph.metrics.regression import binned_bias_resolution, pulls
from hepgraph.report.roc import confusion_matrix_plot, rejection_curve, roc_pair_plot, roc_plot
from hepgraph.report.style import describe, pyplot, save_figure, styled, title_with

__all__ = ["beta_plot", "confusion_matrix_plot", "edge_plots", "per_class_plot", "plot_task",
           "regression_plots", "roc_pair_plot", "roc_plot"]


@styled
def regression_plots(name: str, y: np.ndarray, pred: np.ndarray, sigma: np.ndarray | None,
                     out: Path, unit: str = "", context: str = "") -> list[Path]:
    """Residuals, pulls, binned bias/resolution, pred-vs-true and sigma calibration for one target.

    Args:
        name: target name (``p``, ``px``, ...).
        y: (N,) true values.
        pred: (N,) predicted values.
        sigma: (N,) predicted uncertainties, or None.
        out: directory for ``{name}_*.png``.
        unit: unit of the target (GeV, mm, ...).
        context: model, split and N (:func:`hepgraph.report.style.describe`).
    """
    plt = pyplot()
    u = f" [{unit}]" if unit else ""
    r = pred - y
    files = []
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.hist(r, bins=50, histtype="step")
    ax.set_xlabel(f"{name} predicted - true{u}")
    ax.set_ylabel("events / bin")
    title_with(ax, f"{name}: bias {r.mean():.3g}{u}, resolution {r.std():.3g}{u}", context)
    files.append(save_figure(fig, out / f"{name}_residuals.png"))
    b = binned_bias_resolution(y, pred, bins=10)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.errorbar(b["centres"], b["bias"], xerr=np.diff(b["edges"]) / 2, fmt="o", label="bias (mean)")
    ax.plot(b["centres"], b["resolution"], "s-", label="resolution (std)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel(f"true {name}{u}")
    ax.set_ylabel(f"predicted - true {name}{u}")
    title_with(ax, f"{name}: bias and resolution vs true value", context)
    ax.legend()
    files.append(save_figure(fig, out / f"{name}_bias_resolution.png"))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    h = ax.hist2d(y, pred, bins=40, range=[[lo, hi], [lo, hi]], cmin=1, cmap="viridis")
    ax.plot([lo, hi], [lo, hi], "r--", lw=1)
    fig.colorbar(h[3], ax=ax, label="events / bin")
    ax.set_xlabel(f"true {name}{u}")
    ax.set_ylabel(f"predicted {name}{u}")
    title_with(ax, f"{name}: predicted vs true", context)
    files.append(save_figure(fig, out / f"{name}_pred_vs_true.png"))
    if sigma is not None:
        files += _sigma_plots(name, pulls(y, pred, sigma), out, context)
    return files


def _sigma_plots(name: str, p: np.ndarray, out: Path, context: str) -> list[Path]:
    """Pull distribution against N(0, 1), and the coverage of |pull| < k against a Gaussian."""
    from math import erf, sqrt

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.hist(np.clip(p, -6, 6), bins=60, range=(-6, 6), density=True, histtype="step", label="pulls")
    xs = np.linspace(-6, 6, 200)
    ax.plot(xs, np.exp(-xs**2 / 2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0, 1)")
    ax.set_xlabel(f"{name} pull (predicted - true) / sigma")
    ax.set_ylabel("probability density")
    title_with(ax, f"{name} pulls: mean {p.mean():.2f}, std {p.std():.2f}", context)
    ax.legend()
    files = [save_figure(fig, out / f"{name}_pulls.png")]
    ks = np.linspace(0.25, 3, 12)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(ks, [np.mean(np.abs(p) < k) for k in ks], "o-", label="observed")
    ax.plot(ks, [erf(k / sqrt(2)) for k in ks], "k--", label="Gaussian")
    ax.set_xlabel("k (pull threshold)")
    ax.set_ylabel("fraction of events with |pull| < k")
    title_with(ax, f"{name}: sigma calibration", context)
    ax.legend()
    files.append(save_figure(fig, out / f"{name}_sigma_calibration.png"))
    return files


@styled
def per_class_plot(metrics: Mapping[str, Any], names: Sequence[str], path: Path, context: str = "") -> Path:
    """Grouped bars of per-class precision, recall and IoU."""
    k = len(names)
    fig, ax = pyplot().subplots(figsize=(2.5 + 0.8 * k, 4.5))
    x = np.arange(k)
    for i, key in enumerate(("precision_per_class", "recall_per_class", "iou_per_class")):
        vals = np.array([np.nan if v is None else v for v in metrics.get(key, [np.nan] * k)], float)
        ax.bar(x + (i - 1) * 0.27, np.nan_to_num(vals), width=0.27, label=key.split("_")[0])
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("true class")
    ax.set_ylabel("score (fraction of hits)")
    ax.legend(fontsize=8)
    title_with(ax, "per-class precision, recall, IoU", context)
    return save_figure(fig, path)


@styled
def edge_plots(y: np.ndarray, score: np.ndarray, out: Path, context: str = "") -> list[Path]:
    """Edge ROC, and efficiency / purity vs the score threshold."""
    plt = pyplot()
    y = np.asarray(y) > 0.5
    files = []
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if y.any() and not y.all():
        from hepgraph.metrics.classification import roc_auc

        eff_s, eff_b = rejection_curve(y, score)
        ax.plot(np.r_[0, eff_b], np.r_[0, eff_s], label=f"AUC {roc_auc(y, score):.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="random")
    ax.set(xlabel="false positive rate (fake edges kept)", ylabel="true positive rate (edge efficiency)",
           xlim=(0, 1), ylim=(0, 1.02))
    title_with(ax, "edge ROC", context)
    ax.legend(loc="lower right")
    files.append(save_figure(fig, out / "edge_roc.png"))
    thr = np.linspace(0.0, 0.99, 100)
    eff, pur = efficiency_purity(y, score, thr)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(thr, eff, label="efficiency")
    ax.plot(thr, pur, label="purity")
    ax.set_xlabel("edge score threshold")
    ax.set_ylabel("edge efficiency / purity")
    ax.set_ylim(0, 1.05)
    title_with(ax, "edge efficiency and purity vs threshold", context)
    ax.legend()
    files.append(save_figure(fig, out / "edge_efficiency_purity.png"))
    return files


@styled
def beta_plot(beta: np.ndarray, noise: np.ndarray, path: Path, context: str = "") -> Path:
    """Condensation strength of track hits vs noise hits."""
    fig, ax = pyplot().subplots(figsize=(5.5, 4.5))
    ax.hist(beta[~noise], bins=50, range=(0, 1), histtype="step", density=True, label="track hits")
    if noise.any():
        ax.hist(beta[noise], bins=50, range=(0, 1), histtype="step", density=True, label="noise hits")
    ax.set_xlabel("condensation strength beta")
    ax.set_ylabel("probability density")
    title_with(ax, "beta of track and noise hits", context)
    ax.legend()
    return save_figure(fig, path)


def plot_task(task: Any, acc: Mapping[str, np.ndarray], metrics: Mapping[str, Any], out: Path) -> list[Path]:
    """Write the plots of ``task`` from its collected arrays; returns the files.

    Titles name the model, the split and N when ``metrics`` has ``model``, ``split`` and
    ``events`` (as :func:`hepgraph.runs.evaluate.evaluate` writes them).
    """
    out = Path(out)
    name = task.name
    model, split, events = metrics.get("model"), metrics.get("split"), metrics.get("events")
    level = getattr(task, "level", "event")
    unit = {"hit": "hits", "edge": "edges"}.get(level, "events")
    first = next(iter(acc.values()), np.zeros(0))
    n = len(first) if level != "event" or events is None else events
    ctx = describe(model, split, n, unit, events)
    if name in ("classification", "track-count"):
        names = task.names()
        files = [confusion_matrix_plot(np.asarray(metrics["confusion_matrix"]), names,
                                       out / "confusion_matrix.png", context=ctx),
                 roc_plot(acc["y"], acc["probs"], names, out / "roc.png", context=ctx)]
        if np.asarray(acc["probs"]).shape[1] >= 3:
            files.append(roc_pair_plot(acc["y"], acc["probs"], names, out / "roc_pairs.png", context=ctx))
        return files
    if name == "regression":
        from hepgraph.events.schema import unit_of

        files = []
        for i, t in enumerate(task.target_names):
            sig = acc["sigma"][:, i] if "sigma" in acc else None
            files += regression_plots(t, acc["y"][:, i], acc["mean"][:, i], sig, out, unit_of(t), ctx)
        return files
    if name == "segmentation":
        names = task.names()
        return [per_class_plot(metrics, names, out / "per_class.png", ctx),
                confusion_matrix_plot(np.asarray(metrics["confusion_matrix"]), names,
                                      out / "confusion_matrix.png", context=ctx)]
    if name == "edge-classification":
        return edge_plots(acc["y"], acc["score"], out, ctx)
    if name == "condensation":
        return [beta_plot(acc["beta"], np.asarray(acc["noise"], bool), out / "beta.png", ctx)]
    if name == "binned-regression":
        from hepgraph.events.schema import unit_of
        from hepgraph.report.turn_on import binned_plots

        return binned_plots(task, acc, metrics, out, unit_of(task.target), ctx)
    if name == "generate":
        from hepgraph.report.generative import generative_plots

        return generative_plots(task, acc, metrics, out, describe(model, split, events))
    return []
