"""Drift circles in the event display: a drift-cell hit is a circle around its wire.

A drift cell (Geiger cell, straw, drift tube) measures the distance of closest approach of
the track to its wire, so in the plane transverse to the wires the hit is a circle (centre
= wire, radius = ``drift_radius``) that the track touches. :func:`draw_drift_circles`
draws them on a projection of :func:`hepgraph.report.display.render_event`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw_drift_circles"]


def draw_drift_circles(ax: Any, u: np.ndarray, v: np.ndarray, radius: np.ndarray, colors: Any = None,
                       linewidth: float = 0.8) -> Any:
    """Add one circle per hit to a matplotlib axes.

    Args:
        ax: the axes of the projection transverse to the wires (x-y for wires along z).
        u, v: (N,) wire positions on the axes' horizontal and vertical axes (mm).
        radius: (N,) drift radii (mm).
        colors: (N, 3|4) edge colours (the hits' colours), or None for grey.
        linewidth: circle line width (points).

    Returns:
        The added ``matplotlib.collections.EllipseCollection``.
    """
    from matplotlib.collections import EllipseCollection

    r = np.abs(np.asarray(radius, float))
    d = 2 * r
    edge = "0.4" if colors is None or np.ndim(colors) != 2 else np.asarray(colors)
    coll = EllipseCollection(d, d, np.zeros_like(d), units="xy", offsets=np.column_stack([u, v]),
                             offset_transform=ax.transData, facecolors="none", edgecolors=edge,
                             linewidths=linewidth)
    ax.add_collection(coll)
    return coll
