"""Event display for detectors read out by channels (PMTs, optical modules, pads).

Many hits land on one channel (a PMT records several photons), so drawing hits shows
stacks of points at the same place. Here each channel is drawn once, at its position
taken from the hits themselves (no geometry file): marker area grows with the channel's
total charge, the colour is its first hit time (ns) or its total charge, and the channels
seen in other events of the dataset (:func:`channel_positions`) are drawn as small grey
dots, so the detector layout and the unlit channels stay visible. Channels with a
direction (``dir_x, dir_y, dir_z``: a PMT axis) get a short line along it.

>>> fig = render_channels(ds[0], ds.manifest, all_channels=channel_positions(ds))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError

CHANNEL_COLORS = ("time", "charge")
VIEWS = (("x", "y"), ("z", "x"), ("z", "y"))
PRECISION_MM = 1e-3  # hits closer than this belong to one channel


def channel_table(event: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Hits grouped by channel position.

    Args:
        event: one event (``x, y, z`` mm; optional ``charge``, ``t`` ns, ``dir_x/y/z``).

    Returns:
        Per channel (M,): ``pos`` (M, 3) mm, ``hits`` (count), ``charge`` (sum),
        ``t_first`` (ns, NaN without ``t``), ``dir`` (M, 3) or absent; ``channel`` (N,)
        the channel of each hit.
    """
    pos = np.stack([np.asarray(event[c], np.float64) for c in "xyz"], axis=1)
    key = np.round(pos / PRECISION_MM).astype(np.int64)
    _, first, inv, hits = np.unique(key, axis=0, return_index=True, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    m = len(first)
    q = np.asarray(event.get("charge", np.ones(len(pos))), np.float64)
    out: dict[str, np.ndarray] = {"pos": pos[first], "hits": hits, "channel": inv,
                                  "charge": np.bincount(inv, weights=q, minlength=m)}
    t_first = np.full(m, np.nan)
    if "t" in event and len(pos):
        t = np.asarray(event["t"], np.float64)
        t_first = np.full(m, np.inf)
        np.minimum.at(t_first, inv, t)
    out["t_first"] = t_first
    if all(f"dir_{c}" in event for c in "xyz"):
        out["dir"] = np.stack([np.asarray(event[f"dir_{c}"], np.float64) for c in "xyz"], axis=1)[first]
    return out


def channel_positions(dataset: Any, max_events: int = 200) -> np.ndarray:
    """(M, 3) mm: every channel position seen in the first ``max_events`` events."""
    keys = []
    for i in range(min(len(dataset), max_events)):
        ev = dataset[i]
        pos = np.stack([np.asarray(ev[c], np.float64) for c in "xyz"], axis=1)
        keys.append(np.unique(np.round(pos / PRECISION_MM).astype(np.int64), axis=0))
    if not keys:
        return np.zeros((0, 3))
    return np.unique(np.concatenate(keys), axis=0) * PRECISION_MM


def render_channels(event: Mapping[str, Any], manifest: Mapping[str, Any], color: str = "time",
                    all_channels: np.ndarray | None = None) -> Any:
    """Draw one event per channel: 3D view and x-y, z-x, z-y projections (mm).

    Args:
        event: one event dict (``x, y, z`` mm; ``charge``; ``t`` ns; ``dir_x/y/z``).
        manifest: the dataset manifest (``charge`` unit, source name).
        color: ``time`` (first hit time of the channel; ``charge`` when the event has no
            ``t``) or ``charge`` (total charge of the channel).
        all_channels: (M, 3) mm positions of every channel, drawn as grey dots.

    Returns:
        A ``matplotlib.figure.Figure`` (Agg canvas).

    Raises:
        ConfigError: unknown ``color``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    if color not in CHANNEL_COLORS:
        raise ConfigError(f"channel colour `{color}` is not one of {', '.join(CHANNEL_COLORS)}")
    ch = channel_table(event)
    unit = manifest.get("columns", {}).get("charge", {}).get("unit", "")
    if color == "time" and np.isnan(ch["t_first"]).all():
        color = "charge"
    value = ch["t_first"] if color == "time" else ch["charge"]
    label = "first hit time [ns]" if color == "time" else (f"total charge [{unit}]" if unit else "total charge")
    qmax = max(float(ch["charge"].max(initial=0.0)), 1e-12)
    area = 6.0 + 120.0 * np.sqrt(np.clip(ch["charge"], 0, None) / qmax)  # points^2
    order = np.argsort(-value if color == "time" else value, kind="stable")  # early / large on top
    bg = np.asarray(all_channels, float) if all_channels is not None and len(all_channels) else None
    ref = np.concatenate([ch["pos"], bg]) if bg is not None else ch["pos"]
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1.0)
    lim = np.stack([lo - pad, hi + pad], axis=1)
    fig = Figure(figsize=(19, 5.2), dpi=100, layout="constrained")
    grid = fig.add_gridspec(1, 4, width_ratios=[1.25, 1, 1, 1])
    kw = dict(c=value[order], s=area[order], cmap="plasma" if color == "time" else "viridis",
              edgecolors="k", linewidths=0.3)
    ax3 = fig.add_subplot(grid[0, 0], projection="3d")
    if bg is not None:
        ax3.scatter(bg[:, 2], bg[:, 0], bg[:, 1], s=1.5, color="0.75", depthshade=False)
    p = ch["pos"][order]
    ax3.scatter(p[:, 2], p[:, 0], p[:, 1], **kw)
    ax3.set(xlim=lim[2], ylim=lim[0], zlim=lim[1])
    for setter, name in ((ax3.set_xlabel, "z"), (ax3.set_ylabel, "x"), (ax3.set_zlabel, "y")):
        setter(f"{name} [mm]", fontsize=8)
    ax3.set_title("channels: 3D", fontsize=10)
    ax3.tick_params(labelsize=6, pad=0)
    sc = None
    for j, (a, b) in enumerate(VIEWS):
        ia, ib = "xyz".index(a), "xyz".index(b)
        ax = fig.add_subplot(grid[0, 1 + j])
        if bg is not None:
            ax.scatter(bg[:, ia], bg[:, ib], s=2, color="0.8", linewidths=0, zorder=0)
        sc = ax.scatter(p[:, ia], p[:, ib], **kw)
        if "dir" in ch:
            d = ch["dir"][order] * 0.03 * float(np.max(hi - lo))
            ax.quiver(p[:, ia], p[:, ib], d[:, ia], d[:, ib], angles="xy", scale_units="xy", scale=1,
                      width=0.002, color="0.3", zorder=3)
        ax.set(xlim=lim[ia], ylim=lim[ib], xlabel=f"{a} [mm]", ylabel=f"{b} [mm]")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(f"channels: {a}-{b}", fontsize=10)
        ax.tick_params(labelsize=8)
    fig.colorbar(sc, ax=ax, label=label, shrink=0.85)
    n_bg = f" of {len(bg)}" if bg is not None else ""
    src = manifest.get("source", {}).get("name", "")
    fig.suptitle(f"{src + ': ' if src else ''}event_id {int(event.get('event_id', 0))}, "
                 f"{len(ch['channel'])} hits on {len(ch['hits'])}{n_bg} channels "
                 f"(marker area ~ charge, colour = {label})", fontsize=12)
    return fig
