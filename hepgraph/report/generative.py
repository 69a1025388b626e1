"""Figures of a generator against the simulator: distributions and tracks at a few particles.

:func:`generative_plots` is what :func:`hepgraph.report.plots.plot_task` draws for the
``generate`` task: the distributions compared by the task's Wasserstein distances
(distance to the ideal helix, cluster charge, truncated-mean charge, clusters per track),
generated against simulated, and generated and simulated clusters of the same particles
for a few parameter points (lowest to highest momentum) with the ideal helix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.report.style import COLORS, pyplot, save_figure, styled, title_with

__all__ = ["distribution_plots", "generative_plots", "track_points_plot"]

#: (key, x label, log x) of the compared distributions.
DISTRIBUTIONS = (("helix", "distance to the ideal helix [mm]", True),
                 ("charge", "cluster charge", True),
                 ("dedx", "truncated-mean charge per track (70 %)", True),
                 ("clusters", "clusters per track", False))


@styled
def distribution_plots(acc: Mapping[str, np.ndarray], metrics: Mapping[str, Any], path: Path, unit: str = "",
                       context: str = "") -> Path:
    """Generated vs simulated histograms of the compared quantities (2 x 2 panels)."""
    fig, axes = pyplot().subplots(2, 2, figsize=(10, 8))
    for ax, (key, label, logx) in zip(axes.ravel(), DISTRIBUTIONS):
        a, b = acc.get(f"gen_{key}"), acc.get(f"sim_{key}")
        if a is None or b is None:
            ax.set_visible(False)
            continue
        a, b = np.asarray(a, float), np.asarray(b, float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        both = np.r_[a, b]
        if both.size == 0:
            ax.set_visible(False)
            continue
        if logx:
            lo = max(np.percentile(both[both > 0], 0.5), 1e-3) if (both > 0).any() else 1e-3
            bins = np.geomspace(lo, max(both.max(), lo * 10), 50)
            ax.set_xscale("log")
        else:
            bins = np.linspace(both.min() - 0.5, both.max() + 0.5, 50)
        ax.hist(b, bins=bins, histtype="step", density=True, color="k", label="simulator")
        ax.hist(a, bins=bins, histtype="step", density=True, color=COLORS[0], label="generator")
        u = f" [{unit}]" if key in ("charge", "dedx") and unit else ""
        ax.set_xlabel(label + u)
        ax.set_ylabel("probability density")
        w = metrics.get(f"w1/{key}")
        ax.set_title(f"W1 = {w:.3g}" if w is not None and np.isfinite(w) else "", fontsize=10)
        ax.legend()
    title_with(axes[0, 0], "generator vs simulator", context)
    return save_figure(fig, path)


@styled
def track_points_plot(acc: Mapping[str, np.ndarray], path: Path, field_T: float, field_axis: str = "z",
                      points: int = 4, context: str = "") -> Path:
    """Generated and simulated clusters of the same particles, with the ideal helix.

    Events are chosen across the momentum range of the collected ones; each column shows
    one particle in two projections (the two coordinates with the largest spread against
    the coordinate along the track).
    """
    from hepgraph.metrics.generative import helix_points
    from hepgraph.report.matching import species

    raw, eid = np.asarray(acc["raw"], float), np.asarray(acc["event_id"])
    p = np.linalg.norm(raw[:, :3], axis=1)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok])]
    pick = order[np.linspace(0, len(order) - 1, min(points, len(order))).astype(int)] if len(order) else []
    n = max(len(pick), 1)
    fig, axes = pyplot().subplots(2, n, figsize=(4.2 * n, 7.5), squeeze=False)
    for col, e in enumerate(pick):
        sim = np.asarray(acc["sim_xyz"])[np.asarray(acc["sim_event_id"]) == eid[e]]
        gen = np.asarray(acc["gen_xyz"])[np.asarray(acc["gen_event_id"]) == eid[e]]
        allp = np.r_[sim, gen] if len(sim) + len(gen) else np.zeros((1, 3))
        along = int(np.argmax(np.ptp(sim if len(sim) > 1 else allp, axis=0)))
        others = [i for i in range(3) if i != along]
        reach = float(np.max(np.linalg.norm(allp - raw[e, 5:8], axis=1))) * 1.1 + 1.0
        hel = helix_points(raw[e, 5:8], raw[e, :3], raw[e, 3], field_T, np.linspace(0, reach, 400), field_axis)
        lo, hi = allp[:, along].min(), allp[:, along].max()
        hel = hel[(hel[:, along] >= lo - 20) & (hel[:, along] <= hi + 20)]
        for row, c in enumerate(others):
            ax = axes[row, col]
            ax.plot(hel[:, along], hel[:, c], "-", color="0.6", lw=1, label="ideal helix")
            ax.plot(sim[:, along], sim[:, c], "o", ms=3, mfc="none", color="k", label="simulator")
            ax.plot(gen[:, along], gen[:, c], ".", ms=4, color=COLORS[0], label="generator")
            ax.set_xlabel(f"{'xyz'[along]} [mm]")
            ax.set_ylabel(f"{'xyz'[c]} [mm]")
            if row == 0:
                ax.set_title(f"{species(int(raw[e, 4]))}, p = {p[e]:.3g} GeV", fontsize=10)
            if row == 0 and col == 0:
                ax.legend(fontsize=8)
    title_with(axes[0, 0], axes[0, 0].get_title(), context)
    return save_figure(fig, path)


def generative_plots(task: Any, acc: Mapping[str, np.ndarray], metrics: Mapping[str, Any], out: Path,
                     context: str = "") -> list[Path]:
    """The ``generate`` task's figures: distributions and tracks at a few particles."""
    out = Path(out)
    if "raw" not in acc:
        return []
    unit = (getattr(task, "units", {}) or {}).get("charge", "")
    files = [distribution_plots(acc, metrics, out / "generator_distributions.png", unit, context)]
    if "gen_xyz" in acc and "sim_xyz" in acc:
        files.append(track_points_plot(acc, out / "generator_tracks.png", float(task.field_T or 0.0),
                                       task.field_axis or "z", 4, context))
    return files
