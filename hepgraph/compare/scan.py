"""Resolution scan: the same dense and sparse networks at increasing grid resolution.

For each voxel size the dense twin gets an image of ``ceil(span / voxel)`` cells per axis
and the sparse twin the same ``voxel_size``; one training step (forward + loss + backward)
per batch is timed and its peak memory measured. Dense cost grows with the grid volume,
sparse cost with the number of occupied voxels — the plot that says whether to go sparse.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hepgraph.compare.measure import PeakMemory, Timer, count_parameters
from hepgraph.errors import ConfigError, setting
from hepgraph.report.style import pyplot, save_figure, styled

log = logging.getLogger(__name__)

#: Dense grids above this many cells per event are skipped (memory would explode on CPU).
MAX_DENSE_CELLS = 2_000_000


def grid_shape(extent: Sequence[Sequence[float]], voxel: float) -> list[int]:
    """Cells per axis covering ``extent`` (mm) at ``voxel`` mm (at least 8 per axis)."""
    return [max(8, int(math.ceil((float(b) - float(a)) / voxel))) for a, b in extent]


def voxels_from_resolution(extent: Sequence[Sequence[float]], cells: Sequence[int]) -> list[float]:
    """Voxel sizes (mm) giving ``n`` cells along the longest axis, for each ``n`` in ``cells``."""
    span = max(float(b) - float(a) for a, b in extent)
    return [span / int(n) for n in cells]


def _step_cost(model: Any, task: Any, batches: Sequence[Any], device: str) -> dict[str, float]:
    model.train()
    n = 0
    with PeakMemory(device) as mem, Timer(device) as t:
        for b in batches:
            b = b.to(device)
            loss = task(model(b), b)["loss"]
            loss.backward()
            model.zero_grad(set_to_none=True)
            n += b.batch_size
    return {"seconds_per_event": t.seconds / max(n, 1), "peak_mib": mem.peak_mib}


def scan_resolution(data: str | Path, voxels: Sequence[float], *, dense: str = "dense-resnet18-3d",
                    sparse: str = "sparse-resnet18", model_kwargs: dict[str, Any] | None = None,
                    task: str | None = None, batch_size: int = 4, batches: int = 2,
                    device: str = "cpu", seed: int = 0,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time and memory of one training step of ``dense`` and ``sparse`` vs voxel size.

    Args:
        data: dataset directory (events of its ``train`` split are used).
        voxels: voxel sizes (mm), coarse to fine.
        dense, sparse: the twin model names (same architecture, dense vs sparse operators).
        model_kwargs: shared model kwargs (e.g. ``base_channels``).
        task: task name (default: the dataset's).
        batch_size, batches: events per step and steps measured per point.
        device: ``cpu`` or ``cuda``.
        progress: called with a short label before each measurement.

    Returns:
        ``{"dense", "sparse", "points": [{voxel_mm, grid, occupied_per_event, dense: {...} | None,
        sparse: {...}}]}``; ``dense`` is None where the grid exceeds :data:`MAX_DENSE_CELLS`.
    """
    import numpy as np
    import torch

    from hepgraph.runs.build import build_model, build_task, fit_features, fit_sample, resolve_features
    from hepgraph.runs.build import model_kwargs as mkw
    from hepgraph.runs.config import Component
    from hepgraph.store import make_loader
    from hepgraph.store.dataset import EventDataset
    from hepgraph.train.trainer import seed_everything

    if not voxels:
        raise ConfigError(f"no voxel sizes to scan: give e.g. {setting('scan_voxel', '48,24,12')} (mm)")
    ds = EventDataset(data)
    extent = (ds.manifest.get("extra") or {}).get("extent")
    if extent is None:
        raise ConfigError(f"dataset `{data}` records no `extra.extent`; the scan needs the detector extent")
    train = ds.split("train")
    tk = build_task(Component(task, {}), ds.manifest)
    tk.fit(fit_sample(train, 200))
    feats = fit_features(resolve_features(None, ds.manifest), train, 200)
    loader = make_loader(train, batch_size, features=feats, seed=seed)
    data_batches = []
    for b in loader:
        data_batches.append(b)
        if len(data_batches) >= batches:
            break
    points = []
    for v in voxels:
        shape = grid_shape(extent, float(v))
        occ = []
        for b in data_batches:
            pos = b.pos.numpy()
            ijk = np.floor((pos - np.asarray(extent)[:, 0]) / float(v)).astype(np.int64)
            keys = np.unique(np.column_stack([b.batch.numpy(), ijk]), axis=0)
            occ.append(len(keys) / b.batch_size)
        point: dict[str, Any] = {"voxel_mm": float(v), "grid": shape, "cells": int(np.prod(shape)),
                                 "occupied_per_event": float(np.mean(occ))}
        for kind, name, kw in (("dense", dense, {"image_shape": shape}), ("sparse", sparse, {"voxel_size": float(v)})):
            if kind == "dense" and point["cells"] > MAX_DENSE_CELLS:
                point[kind] = None
                continue
            if progress is not None:
                progress(f"{name} at {v:.3g} mm")
            seed_everything(seed)
            m = build_model(name, mkw(name, {**(model_kwargs or {}), **kw}, ds.manifest),
                            in_channels=feats.num_features, task=tk).to(device)
            cost = _step_cost(m, tk.to(device), data_batches, device)
            cost["parameters"] = count_parameters(m)
            point[kind] = cost
            del m
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        points.append(point)
        log.info("scan %s mm: %s", v, point)
    return {"dense": dense, "sparse": sparse, "data": str(data), "points": points}


@styled
def plot_scan(scan: dict[str, Any], path: Path) -> Path:
    """Seconds per event and peak memory vs voxel size (log axes), dense vs sparse."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for kind, style in (("dense", "s-"), ("sparse", "o-")):
        pts = [p for p in scan["points"] if p.get(kind)]
        x = [p["voxel_mm"] for p in pts]
        axes[0].plot(x, [p[kind]["seconds_per_event"] for p in pts], style, label=scan[kind])
        axes[1].plot(x, [max(p[kind]["peak_mib"], 1e-3) for p in pts], style, label=scan[kind])
    from matplotlib.ticker import NullFormatter

    ticks = sorted({p["voxel_mm"] for p in scan["points"]})
    for ax, lab in zip(axes, ("training-step time per event (s)", "peak memory growth (MiB)")):
        ax.set(xlabel="voxel size (mm), finer to the right", ylabel=lab, xscale="log", yscale="log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    axes[0].set_title("time vs resolution")
    axes[1].set_title("memory vs resolution")
    return save_figure(fig, path)


def scan_markdown(scan: dict[str, Any]) -> str:
    """The scan as a Markdown table."""
    from hepgraph.compare.report import fmt

    lines = ["| voxel (mm) | grid | occupied voxels/event | dense s/event | dense peak MiB | "
             "sparse s/event | sparse peak MiB |", "|---|---|---|---|---|---|---|"]
    for p in scan["points"]:
        d, s = p.get("dense") or {}, p.get("sparse") or {}
        lines.append(f"| {fmt(p['voxel_mm'])} | {'x'.join(map(str, p['grid']))} | {fmt(p['occupied_per_event'])} | "
                     f"{fmt(d.get('seconds_per_event'))} | {fmt(d.get('peak_mib'))} | "
                     f"{fmt(s.get('seconds_per_event'))} | {fmt(s.get('peak_mib'))} |")
    return "\n".join(lines)
