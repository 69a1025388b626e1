"""The event display: 3D hits and the three 2D projections, with the detector outline.

>>> fig = render_event(ds[0], ds.manifest, color="truth")      # doctest: +SKIP
>>> fig.savefig("event.png", dpi=110)                           # doctest: +SKIP

Colours: ``truth`` (the ``top`` particles with most hits in distinct colours, the others
grey, noise light grey; the legend gives particle id, species and hits), ``semantic`` (one
colour per class, names from the manifest) or ``charge`` (colour map with a colour bar).
With ``predictions`` (predicted cluster per hit) a second row shows the clusters, each in
the colour of the truth particle it is matched to (:mod:`hepgraph.report.matching`),
unmatched clusters grey. :func:`choose_color` falls back from ``truth`` to ``charge`` for
events without truth. Detectors read out by channels (PMTs) are drawn per channel by
:func:`hepgraph.report.channels.render_channels`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.report.matching import METHODS, Legend, palette, predicted_colors, truth_colors

COLORS = ("truth", "semantic", "charge")
VIEWS = (("x", "y"), ("z", "x"), ("z", "y"))   # beam-style z horizontal in the side views


def _limits(pos: np.ndarray, extent: list[list[float]] | None) -> np.ndarray:
    """(3, 2) axis limits, per axis: the detector when the hits span most of it, else the hits."""
    if pos.shape[0]:
        lo, hi = pos.min(axis=0), pos.max(axis=0)
    else:
        lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    span = np.maximum(hi - lo, 50.0)
    mid = (hi + lo) / 2
    lim = np.stack([mid - 0.6 * span, mid + 0.6 * span], axis=1)
    if extent is not None:
        ext = np.asarray(extent, dtype=float)
        full = (hi - lo > 0.5 * (ext[:, 1] - ext[:, 0])) | (pos.shape[0] == 0)
        pad = 0.03 * (ext[:, 1] - ext[:, 0])
        lim[full] = ext[full] + np.stack([-pad, pad], axis=1)[full]
    return lim


def _outline_2d(ax: Any, extra: Mapping[str, Any], a: int, b: int) -> None:
    """Detector outline on a projection with axis indices (a, b) (0=x, 1=y, 2=z)."""
    from matplotlib.patches import Circle, Rectangle

    style = dict(fill=False, lw=0.8, ec="0.45", ls="-", zorder=0)
    if extra.get("geometry") == "cylinders" and (a, b) == (0, 1):
        for r in (extra.get("r_min"), extra.get("r_max")):
            if r:
                ax.add_patch(Circle((0, 0), r, **style))
        for r in extra.get("layer_radii", [])[:: max(1, len(extra.get("layer_radii", [])) // 8)]:
            ax.add_patch(Circle((0, 0), r, fill=False, lw=0.3, ec="0.8", zorder=0))
        return
    ext = extra.get("extent")
    if ext:
        ax.add_patch(Rectangle((ext[a][0], ext[b][0]), ext[a][1] - ext[a][0], ext[b][1] - ext[b][0], **style))
    for plane in extra.get("planes_x", []) if a == 0 else []:
        ax.axvline(plane, lw=0.3, color="0.85", zorder=0)


def _outline_3d(ax: Any, extra: Mapping[str, Any]) -> None:
    ext = extra.get("extent")
    if not ext:
        return
    if extra.get("geometry") == "cylinders":
        t = np.linspace(0, 2 * np.pi, 80)
        r = extra.get("r_max", ext[0][1])
        for z in ext[2]:
            ax.plot(z + 0 * t, r * np.cos(t), r * np.sin(t), color="0.6", lw=0.6)
        return
    (x0, x1), (y0, y1), (z0, z1) = ext
    for xs, ys, zs in (
        ([x0, x1], [y0, y0], [z0, z0]), ([x0, x1], [y1, y1], [z0, z0]), ([x0, x1], [y0, y0], [z1, z1]),
        ([x0, x1], [y1, y1], [z1, z1]), ([x0, x0], [y0, y1], [z0, z0]), ([x1, x1], [y0, y1], [z0, z0]),
        ([x0, x0], [y0, y1], [z1, z1]), ([x1, x1], [y0, y1], [z1, z1]), ([x0, x0], [y0, y0], [z0, z1]),
        ([x1, x1], [y0, y0], [z0, z1]), ([x0, x0], [y1, y1], [z0, z1]), ([x1, x1], [y1, y1], [z0, z1]),
    ):
        ax.plot(zs, xs, ys, color="0.6", lw=0.6)    # 3D axes show (z, x, y): z along the beam


def particle_species(event: Mapping[str, Any]) -> dict[int, int]:
    """``particle_id -> pdg`` from the particle table, else the most common hit ``pdg`` per track."""
    if "particle_id" in event and "particle_pdg" in event:
        return dict(zip(np.asarray(event["particle_id"]).tolist(), np.asarray(event["particle_pdg"]).tolist()))
    if "track_id" in event and "pdg" in event:
        tid, pdg = np.asarray(event["track_id"], np.int64), np.asarray(event["pdg"], np.int64)
        out = {}
        for t in np.unique(tid[tid >= 0]):
            vals, counts = np.unique(pdg[tid == t], return_counts=True)
            out[int(t)] = int(vals[counts.argmax()])
        return out
    return {}


def has_truth(event: Mapping[str, Any]) -> bool:
    """Whether the event has truth particles per hit (a ``track_id`` column with a particle)."""
    return "track_id" in event and bool((np.asarray(event["track_id"]) >= 0).any())


def choose_color(event: Mapping[str, Any], color: str) -> tuple[str, str | None]:
    """The colouring to draw, and a one-line note when ``truth`` falls back to ``charge``.

    Raises:
        ConfigError: unknown ``color``.
    """
    if color not in COLORS:
        raise ConfigError(f"{setting('color')} `{color}` is not one of {', '.join(COLORS)}")
    if color == "truth" and "track_id" not in event:
        return "charge", "this dataset has no truth (`track_id`): hits coloured by charge instead"
    return color, None


def _colours(event: Mapping[str, Any], manifest: Mapping[str, Any], color: str) -> tuple[Any, Legend | None, str | None]:
    """(per-hit colours or values, legend, colorbar label or None) of the first row."""
    if color == "charge":
        q = np.asarray(event.get("charge", np.ones(len(event["x"]))), dtype=float)
        unit = manifest.get("columns", {}).get("charge", {}).get("unit", "")
        return q, None, f"charge [{unit}]" if unit else "charge"
    if color == "semantic":
        if "semantic" not in event:
            raise DataError(f"the dataset has no `semantic` column; use {setting('color', 'truth')} or {setting('color', 'charge')}")
        names = manifest.get("semantic_names") or []
        sem = np.asarray(event["semantic"], dtype=np.int64)
        pal = palette(max(len(names), int(sem.max(initial=0)) + 1))
        cols = pal[np.clip(sem, 0, len(pal) - 1)]
        present = sorted(set(sem.tolist()))
        return cols, Legend(cols, [(names[s] if s < len(names) else str(s), pal[s]) for s in present]), None
    if "track_id" not in event:
        raise DataError(f"the dataset has no `track_id` column; use {setting('color', 'charge')}")
    return None, None, None


def _title(event: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    parts = [f"event_id {int(event['event_id'])}", f"{len(event['x'])} hits"]
    names = manifest.get("label_names")
    if "label" in event and names:
        lab = int(event["label"])
        parts.append(f"label {names[lab] if 0 <= lab < len(names) else lab}")
    if "particle_id" in event:
        parts.append(f"{len(event['particle_id'])} particles")
    for key, unit in (("p", "GeV"), ("energy", "GeV"), ("n_tracks", "")):
        if key in event and not (key == "n_tracks" and "particle_id" in event):
            parts.append(f"{key} {float(event[key]):.3g}{(' ' + unit) if unit else ''}")
    src = manifest.get("source", {}).get("name", "")
    return (f"{src}: " if src else "") + ", ".join(parts)


def render_event(
    event: Mapping[str, Any], manifest: Mapping[str, Any], color: str = "truth",
    predictions: np.ndarray | None = None, match: str = "hungarian", top: int = 20,
) -> Any:
    """Draw one event: 3D view plus x-y, z-x and z-y projections, with the detector outline.

    Args:
        event: one event dict (``x, y, z`` in mm; ``track_id``, ``semantic``, ``charge``...).
        manifest: the dataset manifest (class names, units, ``extra.extent``, geometry).
        color: ``truth``, ``semantic`` or ``charge`` (see :func:`choose_color` for events
            without truth).
        predictions: (N,) predicted cluster per hit (-1 = unassigned); adds a second row
            where each cluster has the colour of its matched truth particle.
        match: ``hungarian`` (one-to-one) or ``majority`` matching of clusters to particles.
        top: particles (and matched clusters) with their own colour and legend entry.

    Returns:
        A ``matplotlib.figure.Figure`` (Agg canvas).

    Raises:
        ConfigError: unknown ``color`` or ``match``. DataError: the colour needs a column
            the event lacks.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    if color not in COLORS:
        raise ConfigError(f"{setting('color')} `{color}` is not one of {', '.join(COLORS)}")
    if match not in METHODS:
        raise ConfigError(f"{setting('match')} `{match}` is not one of {', '.join(METHODS)}")
    pos = np.stack([np.asarray(event[k], dtype=float) for k in ("x", "y", "z")], axis=1)
    extra = manifest.get("extra", {}) or {}
    track = np.asarray(event["track_id"], dtype=np.int64) if "track_id" in event else None
    signal = pos[track >= 0] if has_truth(event) else pos   # noise hits do not set the zoom
    lim = _limits(signal, extra.get("extent"))
    species_of = particle_species(event)
    truth, lut = truth_colors(track, species_of, top) if track is not None else (None, {})
    vals, legend, cbar = _colours(event, manifest, color)
    if color == "truth":
        vals, legend = truth.colors, truth
    rows = [(color, vals, legend, cbar, "particle (hits)" if color == "truth" else color)]
    if predictions is not None:
        pred = predicted_colors(track if has_truth(event) else None, predictions, lut, species_of, match, top)
        rows.append(("predicted", pred.colors, pred, None,
                     f"cluster -> particle ({match})" if has_truth(event) else "cluster (hits)"))
    fig = Figure(figsize=(19, 4.9 * len(rows)), dpi=100, layout="constrained")
    size = float(np.clip(300.0 / np.sqrt(max(len(pos), 1)), 0.8, 16.0))
    grid = fig.add_gridspec(len(rows), 4, width_ratios=[1.25, 1, 1, 1], wspace=0.08)
    charge_order = np.argsort(np.asarray(event.get("charge", np.zeros(len(pos))), dtype=float), kind="stable")
    for r, (name, vals, legend, cbar, legend_title) in enumerate(rows):
        kw: dict[str, Any] = dict(s=size, linewidths=0, rasterized=True)
        if cbar:
            from matplotlib.colors import LogNorm

            pos_vals = vals[vals > 0]
            norm = LogNorm(vmin=max(pos_vals.min(), 1e-9), vmax=pos_vals.max()) if pos_vals.size else None
            kw.update(c=np.maximum(vals, 1e-9)[charge_order], cmap="viridis", norm=norm)
            perm = charge_order
        else:
            perm = _draw_order(vals)   # grey first, so coloured particles stay visible
            kw.update(c=vals[perm])
        pts = pos[perm]
        radii = np.asarray(event["drift_radius"], float)[perm] if "drift_radius" in event else None
        ax = _draw_row(fig, grid, r, name, pts, kw, lim, extra, radii)
        if cbar:
            fig.colorbar(ax.collections[-1], ax=ax, label=cbar, shrink=0.85)
        if legend is not None and legend.entries:
            _legend(ax, legend, legend_title)
    fig.suptitle(_title(event, manifest), fontsize=12)
    return fig


def _draw_order(colors: np.ndarray) -> np.ndarray:
    """Hit order for drawing: light (noise) first, then grey, then coloured hits."""
    from hepgraph.report.matching import NOISE
    from hepgraph.report.style import GREY

    key = np.full(len(colors), 2)
    key[np.all(np.isclose(colors, GREY), axis=1)] = 1
    key[np.all(np.isclose(colors, NOISE), axis=1)] = 0
    return np.argsort(key, kind="stable")


def _draw_row(fig: Any, grid: Any, r: int, name: str, pts: np.ndarray, kw: dict[str, Any],
              lim: np.ndarray, extra: Mapping[str, Any], radii: np.ndarray | None = None) -> Any:
    """One row: 3D view and the three projections (drift circles, when ``radii`` are given,
    on the x-y view: wires along z); returns the last projection's axes."""
    ax3 = fig.add_subplot(grid[r, 0], projection="3d")
    ax3.scatter(pts[:, 2], pts[:, 0], pts[:, 1], **kw)
    ext = extra.get("extent")
    if ext and (lim[:, 1] - lim[:, 0] >= 0.99 * np.ptp(np.asarray(ext, float), axis=1)).all():
        _outline_3d(ax3, extra)      # only when the whole detector is in view (3D lines are not clipped)
    ax3.set(xlim=lim[2], ylim=lim[0], zlim=lim[1])
    ax3.set_xlabel("z [mm]", fontsize=8, labelpad=-2)
    ax3.set_ylabel("x [mm]", fontsize=8, labelpad=-2)
    ax3.set_zlabel("y [mm]", fontsize=8, labelpad=-4)
    ax3.set_title(f"{name}: 3D", fontsize=10)
    ax3.tick_params(labelsize=6, pad=0)
    ax = None
    for j, (a, b) in enumerate(VIEWS):
        ia, ib = "xyz".index(a), "xyz".index(b)
        ax = fig.add_subplot(grid[r, 1 + j])
        _outline_2d(ax, extra, ia, ib)
        ax.scatter(pts[:, ia], pts[:, ib], **kw)
        if radii is not None and (a, b) == ("x", "y"):
            from hepgraph.report.drift_display import draw_drift_circles

            draw_drift_circles(ax, pts[:, ia], pts[:, ib], radii, None if "cmap" in kw else kw["c"])
        # Square panels with the same mm scale on both axes: widen the shorter range.
        half = max(np.ptp(lim[ia]), np.ptp(lim[ib])) / 2
        ax.set(xlim=lim[ia].mean() + np.array([-half, half]), ylim=lim[ib].mean() + np.array([-half, half]),
               xlabel=f"{a} [mm]", ylabel=f"{b} [mm]", box_aspect=1)
        ax.set_title(f"{name}: {a}-{b}", fontsize=10)
        ax.tick_params(labelsize=8)
    return ax


def _legend(ax: Any, legend: Legend, title: str) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=c, label=lab) for lab, c in legend.entries]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
              frameon=False, title=title, ncol=2 if len(handles) > 14 else 1)


def load_predictions(path: Any, event_id: int, n_hits: int, hit_id: np.ndarray | None = None) -> np.ndarray:
    """Predicted track id per hit of one event from a CSV/Parquet file (event_id, hit_id, track_id).

    Hits are matched on ``hit_id`` (the event's own ``hit_id`` column when it has one, else
    the hit's index within the event). Hits absent from the file get -1.

    Raises:
        DataError: missing file/columns, or no rows for the event.
    """
    from pathlib import Path

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise DataError(f"predictions file `{p}` does not exist")
    table = pq.read_table(p) if p.suffix in (".parquet", ".pq") else pacsv.read_csv(p)
    need = {"event_id", "hit_id", "track_id"}
    if not need <= set(table.column_names):
        raise DataError(
            f"predictions file `{p}` needs columns event_id, hit_id, track_id "
            f"(has {', '.join(table.column_names)})"
        )
    ev = table.column("event_id").to_numpy()
    sel = ev == event_id
    if not sel.any():
        raise DataError(f"predictions file `{p}` has no rows for event_id {event_id}")
    hid = table.column("hit_id").to_numpy()[sel].astype(np.int64)
    tid = table.column("track_id").to_numpy()[sel].astype(np.int64)
    keys = np.arange(n_hits, dtype=np.int64) if hit_id is None else np.asarray(hit_id, dtype=np.int64)
    out = np.full(n_hits, -1, dtype=np.int64)
    order = np.argsort(keys)
    idx = np.searchsorted(keys[order], hid)
    ok = (idx < n_hits) & (keys[order][np.minimum(idx, n_hits - 1)] == hid)
    out[order[idx[ok]]] = tid[ok]
    return out
