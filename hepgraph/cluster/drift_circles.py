"""Track finding with drift circles: Legendre transform of lines tangent to the circles.

A drift cell (Geiger cell, drift tube, straw) measures the distance of closest approach of
the track to its wire, not a point: in the plane transverse to the wires the track is a
line *tangent* to the hit's drift circle (centre = wire, radius = ``drift_radius``), on an
unknown side (the left/right ambiguity). With the line written as
``x cos θ + y sin θ = ρ``, the lines tangent to circle ``(x_i, y_i, r_i)`` are the two
sinusoids of the Legendre transform

.. math::
    \\rho_\\pm(\\theta) = x_i \\cos\\theta + y_i \\sin\\theta \\pm r_i ,

and the lines tangent to many circles are where their sinusoids cross (the method used for
drift tubes, e.g. T. Alexopoulos et al., NIM A 592 (2008) 456). The clusterer fills a
(θ, ρ) accumulator with both branches of every hit, then takes peaks one at a time:

1. the peak's line is refined by a least-squares fit of the tangent residuals
   ``|d_i| - r_i`` (``d_i`` the signed distance of wire ``i`` to the line;
   :func:`fit_tangent_line`), collecting hits within ``tol`` mm, twice;
2. the hits are sorted along the line and cut where consecutive hits are more than
   ``max_gap`` mm apart (two tracks that are collinear on both sides of a source foil, or
   a line crossing two tracks, come apart);
3. each part must be straight in the longitudinal view too: the hits' coordinate along the
   wires (``z``, from the plasma propagation or charge division) is fitted as a line of the
   path length and hits further than ``z_tol`` mm are dropped;
4. a part with at least ``min_hits`` hits becomes a track; its hits' votes leave the
   accumulator, and the search goes on.

The method suits straight tracks (drift tubes in a field-free muon spectrometer, or
high-momentum tracks): where tracks curve or scatter by more than ``tol`` over the
detector, a track is cut into several; the ``cell-paths`` clusterer
(:mod:`hepgraph.cluster.cell_paths`) is meant for those.

YAML::

    clusterer: {name: legendre, tol: 4.0, max_gap: 100.0, z_tol: 60.0, min_hits: 4}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.errors import ConfigError, DataError
from hepgraph.registry import CLUSTERERS

__all__ = ["LegendreClusterer", "drift_plane", "fit_tangent_line", "tangent_residuals", "tangent_lines"]


def signed_distance(theta: float, rho: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N,) signed distance (mm) of points to the line ``x cos θ + y sin θ = ρ``."""
    return x * np.cos(theta) + y * np.sin(theta) - rho


def tangent_residuals(theta: float, rho: float, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(N,) ``|d_i| - r_i``: how far the line is from being tangent to each circle (mm)."""
    return np.abs(signed_distance(theta, rho, x, y)) - r


def tangent_lines(x1: float, y1: float, r1: float, x2: float, y2: float, r2: float) -> np.ndarray:
    """The (up to 4) common tangent lines of two circles, as rows ``(θ, ρ)``.

    Each line ``x cos θ + y sin θ = ρ`` has ``d_1 = s_1 r_1`` and ``d_2 = s_2 r_2`` for signs
    ``s_1, s_2`` of ±1 (two external, two internal tangents); θ in [0, π).

    Shapes:
        - **output:** (L, 2) with L <= 4 (fewer when one circle contains the other)
    """
    dx, dy = x2 - x1, y2 - y1
    dist = np.hypot(dx, dy)
    out = []
    if dist <= 0:
        return np.zeros((0, 2))
    alpha = np.arctan2(dy, dx)
    for s1 in (1.0, -1.0):
        for s2 in (1.0, -1.0):
            # n . (p2 - p1) = s2 r2 - s1 r1 with n = (cos θ, sin θ): cos(θ - α) = c
            c = (s2 * r2 - s1 * r1) / dist
            if abs(c) > 1:
                continue
            for sign in (1.0, -1.0):
                th = alpha + sign * np.arccos(c)
                rho = x1 * np.cos(th) + y1 * np.sin(th) - s1 * r1
                out.append(_canonical(th, rho))
    if not out:
        return np.zeros((0, 2))
    arr = np.unique(np.round(np.asarray(out), 9), axis=0)
    return arr


def _canonical(theta: float, rho: float) -> tuple[float, float]:
    """The same line with θ in [0, π) (flipping the normal flips ρ)."""
    th = np.mod(theta, 2 * np.pi)
    if th >= np.pi:
        return th - np.pi, -rho
    return th, rho


def fit_tangent_line(x: np.ndarray, y: np.ndarray, r: np.ndarray, theta: float, rho: float,
                     iterations: int = 8) -> tuple[float, float, float]:
    """Least-squares line tangent to drift circles, from a starting line (Gauss-Newton).

    Minimises ``sum_i (|d_i| - r_i)^2``; each hit's side (sign of ``d_i``) is taken from the
    current line at every iteration, which resolves the left/right ambiguity.

    Args:
        x, y: (N,) wire positions (mm) in the plane transverse to the wires.
        r: (N,) drift radii (mm).
        theta, rho: the starting line (rad, mm).
        iterations: Gauss-Newton steps.

    Returns:
        ``(θ, ρ, rms)``: the fitted line (θ in [0, π)) and the rms tangent residual (mm).
    """
    x, y, r = (np.asarray(a, np.float64) for a in (x, y, r))
    for _ in range(iterations):
        d = signed_distance(theta, rho, x, y)
        s = np.where(d >= 0, 1.0, -1.0)
        res = s * d - r
        # d/dθ of s*d = s*(-x sinθ + y cosθ); d/dρ = -s
        jac = np.stack([s * (-x * np.sin(theta) + y * np.cos(theta)), -s], axis=1)
        step, *_ = np.linalg.lstsq(jac, -res, rcond=None)
        theta, rho = theta + float(step[0]), rho + float(step[1])
        if abs(step[0]) < 1e-10 and abs(step[1]) < 1e-7:
            break
    theta, rho = _canonical(theta, rho)
    res = tangent_residuals(theta, rho, x, y, r)
    return float(theta), float(rho), float(np.sqrt(np.mean(res**2))) if res.size else 0.0

AXES = {"x": 0, "y": 1, "z": 2}


def drift_plane(event: dict[str, Any], pos: np.ndarray, wire_axis: str, method: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wire positions in the plane transverse to the wires, drift radii and the coordinate
    along the wires.

    Args:
        event: the event dict (``drift_radius`` in mm).
        pos: (N, 3) hit positions (mm); a hit is at its wire.
        wire_axis: ``x``, ``y`` or ``z``: the direction of the wires.
        method: clusterer name for messages.

    Returns:
        ``(u, v, r, w)``: (N,) each, mm.

    Raises:
        DataError: no ``drift_radius`` column, or not one finite value per hit.
    """
    if "drift_radius" not in event:
        raise DataError(f"method `{method}` needs the hit column `drift_radius` (mm; drift cells and tubes); "
                        f"this event has {', '.join(sorted(event))}; use hough or dbscan for point hits")
    r = np.asarray(event["drift_radius"], np.float64).reshape(-1)
    if r.size != pos.shape[0] or not np.isfinite(r).all():
        raise DataError("`drift_radius` must have one finite value per hit")
    a = AXES[wire_axis]
    u, v = [pos[:, i] for i in range(3) if i != a]
    return u, v, np.abs(r), pos[:, a]


@CLUSTERERS.register("legendre", needs_model=False)
class LegendreClusterer(Clusterer):
    """Lines tangent to drift circles by a Legendre transform (see the module docstring).

    Args:
        wire_axis: the coordinate the wires run along (``z``); the fit is in the other two.
        n_theta: θ bins over [0, π).
        rho_bin: ρ bin width (mm).
        tol: largest tangent residual ``|d| - r`` of a track's hit (mm).
        max_gap: largest distance between consecutive hits along a track (mm).
        z_tol: largest residual along the wires to the track's longitudinal line (mm);
            ``inf`` skips the check (no longitudinal coordinate).
        min_hits: smallest track (and smallest accumulator peak).
    """

    name = "legendre"

    def __init__(self, *, wire_axis: str = "z", n_theta: int = 360, rho_bin: float = 4.0, tol: float = 4.0,
                 max_gap: float = 100.0, z_tol: float = 60.0, min_hits: int = 4) -> None:
        super().__init__(int(min_hits))
        if wire_axis not in AXES:
            raise ConfigError(f"legendre `wire_axis` `{wire_axis}` is not one of x, y, z")
        for key, val in (("rho_bin", rho_bin), ("tol", tol), ("max_gap", max_gap), ("z_tol", z_tol)):
            if not float(val) > 0:
                raise ConfigError(f"legendre `{key}` must be > 0 mm, got `{val}`")
        if int(n_theta) < 8:
            raise ConfigError(f"legendre needs n_theta >= 8, got `{n_theta}`")
        self.wire_axis = str(wire_axis)
        self.n_theta, self.rho_bin, self.tol = int(n_theta), float(rho_bin), float(tol)
        self.max_gap, self.z_tol = float(max_gap), float(z_tol)

    def _plane(self, event: dict[str, Any], pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return drift_plane(event, pos, self.wire_axis, "legendre")

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        x, y, r, z = self._plane(event, pos)
        n = x.size
        labels = np.full(n, -1, np.int64)
        thetas = (np.arange(self.n_theta) + 0.5) * np.pi / self.n_theta
        rmax = float(np.max(np.hypot(x, y) + r)) + 2 * self.rho_bin
        n_rho = int(np.ceil(2 * rmax / self.rho_bin)) + 2
        base = x[:, None] * np.cos(thetas)[None, :] + y[:, None] * np.sin(thetas)[None, :]   # (N, T)
        rb = np.stack([np.floor((base + s * r[:, None] + rmax) / self.rho_bin) for s in (1.0, -1.0)], 1)
        keys = (np.arange(self.n_theta)[None, None, :] * n_rho + rb.astype(np.int64)).reshape(n, -1)  # (N, 2T)
        # each vote counts in the 2 x 2 windows whose lower corner is its bin or a neighbour's,
        # so a line on a bin edge is not split
        keys = np.concatenate([keys, keys - 1, keys - n_rho, keys - n_rho - 1], axis=1)
        # one vote per hit and window (a hit's two branches can share a window), counted once in
        # an accumulator from which assigned hits' votes are taken out and vetoed windows zeroed
        pairs = np.unique(keys * n + np.arange(n)[:, None])
        win = pairs // n
        hit = pairs - win * n
        lowest = int(win.min()) if win.size else 0
        win -= lowest
        acc = np.bincount(win).astype(np.int64) if win.size else np.zeros(1, np.int64)
        active = np.ones(n, bool)
        track = 0
        for _ in range(2 * n + 8):                             # each pass assigns hits or vetoes a window
            if active.sum() < self.min_hits:
                break
            best = int(np.argmax(acc))
            if acc[best] < self.min_hits:
                break
            ti, ri = divmod(best + lowest, n_rho)
            theta, rho = (ti + 1.0) * np.pi / self.n_theta, (ri + 1.0) * self.rho_bin - rmax
            parts = self._candidate(x, y, r, z, active, theta, rho)
            if not parts:
                acc[best] = np.iinfo(np.int64).min // 2      # vetoed for good
                continue
            for part in parts:
                labels[part] = track
                track += 1
                active[part] = False
                np.subtract.at(acc, win[np.isin(hit, part)], 1)
        return labels

    def _candidate(self, x: np.ndarray, y: np.ndarray, r: np.ndarray, z: np.ndarray, active: np.ndarray,
                   theta: float, rho: float) -> list[np.ndarray]:
        """Tracks (hit indices) on the peak line: fit, collect, split at gaps, check z."""
        idx = np.flatnonzero(active)
        tol = 2 * self.tol + self.rho_bin
        for _ in range(3):
            sel = idx[np.abs(tangent_residuals(theta, rho, x[idx], y[idx], r[idx])) < tol]
            if sel.size < max(self.min_hits, 2):
                return []
            theta, rho, _ = fit_tangent_line(x[sel], y[sel], r[sel], theta, rho)
            tol = self.tol
        sel = idx[np.abs(tangent_residuals(theta, rho, x[idx], y[idx], r[idx])) < self.tol]
        t = -x[sel] * np.sin(theta) + y[sel] * np.cos(theta)                          # along the line
        order = np.argsort(t, kind="stable")
        cuts = np.flatnonzero(np.diff(t[order]) > self.max_gap) + 1
        parts = []
        for part in np.split(sel[order], cuts):
            part = self._z_line(part, x, y, z)
            if part.size >= self.min_hits:
                parts.append(part)
        return parts

    def _z_line(self, part: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Hits of ``part`` on one straight line z(s) (s = path length in the plane)."""
        if not np.isfinite(self.z_tol) or part.size < 3:
            return part
        s = np.hypot(x[part] - x[part[0]], y[part] - y[part[0]])
        keep = np.ones(part.size, bool)
        for _ in range(3):
            if keep.sum() < 2:
                break
            a = np.polyfit(s[keep], z[part][keep], 1)
            res = np.abs(np.polyval(a, s) - z[part])
            # drop the worst hit only: one stray hit must not tilt the line onto the others
            worst = int(np.argmax(np.where(keep, res, -1)))
            if res[worst] <= self.z_tol:
                break
            keep[worst] = False
        return part[keep]
