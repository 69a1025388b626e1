"""Trigger figures of a binned regression: the efficiency turn-on curve and the bin confusion.

:func:`binned_plots` is what :func:`hepgraph.report.plots.plot_task` draws for the
``binned-regression`` task: the turn-on curve at the task's threshold, the row-normalised
bin confusion matrix, and the regression figures of the predicted value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.report.style import pyplot, save_figure, styled, title_with

__all__ = ["binned_plots", "bin_confusion_plot", "turn_on_plot"]


@styled
def turn_on_plot(curve: Mapping[str, Sequence[float]], threshold: float, path: Path, name: str = "pt",
                 unit: str = "", context: str = "", point50: float | None = None) -> Path:
    """Efficiency ``P(predicted >= threshold)`` vs the true value, with 68 % intervals.

    Args:
        curve: ``centres``, ``efficiency``, ``lo``, ``hi`` (as in the task's ``turn_on`` metric).
        threshold: the trigger threshold (target unit), drawn as a vertical line.
        path: image to write.
        name: target name (``pt``).
        unit: target unit (GeV).
        context: model, split and N (:func:`hepgraph.report.style.describe`).
        point50: true value at 50 % efficiency, marked when given.
    """
    c = np.asarray(curve["centres"], float)
    eff = np.asarray([np.nan if v is None else v for v in curve["efficiency"]], float)
    lo = np.asarray([np.nan if v is None else v for v in curve["lo"]], float)
    hi = np.asarray([np.nan if v is None else v for v in curve["hi"]], float)
    u = f" [{unit}]" if unit else ""
    fig, ax = pyplot().subplots(figsize=(5.8, 4.5))
    w = np.diff(c).mean() / 2 if c.size > 1 else 0.5
    ok = np.isfinite(eff)
    yerr = np.clip([eff[ok] - lo[ok], hi[ok] - eff[ok]], 0.0, None)      # rounding at 0 and 1
    ax.errorbar(c[ok], eff[ok], xerr=w, yerr=yerr, fmt="o", ms=3,
                label=f"predicted {name} >= {threshold:.3g}{u}")
    ax.axvline(threshold, color="k", ls="--", lw=1, label="threshold")
    if point50 is not None and np.isfinite(point50):
        ax.axhline(0.5, color="0.6", lw=0.8)
        ax.plot([point50], [0.5], "rx", ms=8, label=f"50 % at {point50:.3g}{u}")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel(f"true {name}{u}")
    ax.set_ylabel("trigger efficiency (fraction passing)")
    title_with(ax, f"{name} turn-on at threshold {threshold:.3g}{u}", context)
    ax.legend(loc="lower right")
    return save_figure(fig, path)


@styled
def bin_confusion_plot(cm: np.ndarray, edges: Sequence[float], path: Path, name: str = "pt", unit: str = "",
                       context: str = "") -> Path:
    """Row-normalised confusion of true vs predicted bin, axes in bin numbers with the edges noted."""
    cm = np.asarray(cm, np.float64)
    tot = cm.sum(1, keepdims=True)
    norm = np.divide(cm, tot, out=np.zeros_like(cm), where=tot > 0)
    k = cm.shape[0]
    fig, ax = pyplot().subplots(figsize=(5.8, 5.2))
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues", origin="lower")
    ax.grid(False)
    ax.set_xlabel("predicted bin")
    ax.set_ylabel("true bin")
    step = max(1, k // 10)
    ticks = list(range(0, k, step))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true bin (row)")
    e = list(edges)
    u = f" {unit}" if unit else ""
    title_with(ax, f"{name} bins ({k}, {e[0]:.3g}-{e[-1]:.3g}{u}): confusion", context)
    return save_figure(fig, path)


def binned_plots(task: Any, acc: Mapping[str, np.ndarray], metrics: Mapping[str, Any], out: Path,
                 unit: str = "", context: str = "") -> list[Path]:
    """Turn-on curve, bin confusion and regression figures of a binned regression.

    Args:
        task: the fitted ``binned-regression`` task (``target``, ``edges``).
        acc: collected ``y`` (N,) and ``value`` (N,).
        metrics: the task's metrics (``turn_on``, ``threshold``, ``confusion_matrix``).
        out: directory for the PNG files.
        unit: target unit.
        context: model, split and N.
    """
    from hepgraph.report.plots import regression_plots

    out = Path(out)
    name = task.target
    files = []
    if "turn_on" in metrics:
        files.append(turn_on_plot(metrics["turn_on"], float(metrics["threshold"]), out / f"{name}_turn_on.png",
                                  name, unit, context, metrics.get("turn_on_50")))
    files.append(bin_confusion_plot(np.asarray(metrics["confusion_matrix"]), task.edges.tolist(),
                                    out / f"{name}_bin_confusion.png", name, unit, context))
    y, v = np.asarray(acc["y"], np.float64), np.asarray(acc["value"], np.float64)
    files += regression_plots(name, y, v, None, out, unit, context)
    return files
