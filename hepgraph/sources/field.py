"""The magnetic field a tracker's truth tracks imply (for sources whose files do not record it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hepgraph.constants import C_CURV

__all__ = ["estimate_field"]


def estimate_field(events: Sequence[Mapping[str, Any]], *, min_hits: int = 5, max_tracks: int = 400) -> float | None:
    """Field along z (T) from truth tracks: a weighted median over tracks of ``-q kappa p_T / 0.3``.

    kappa is the signed curvature (1/m; > 0 counter-clockwise seen from +z) of the circle
    through a particle's hits in x-y (Kasa fit), the sense of motion taken from the hit
    farthest from the particle's vertex. A track's estimate is weighted by its precision,
    ``L^4 / p_T^2`` (the sagitta error of a lever arm L). Straight tracks give curvatures of
    either sign: when fewer than 80 % of the weight agrees in sign the field is 0. Uses up to
    ``max_tracks`` particles with ``min_hits`` hits and a momentum; None without truth momenta.

    Returns:
        The field in T, rounded to 0.01 T (positive: positive charges turn clockwise).
    """
    from hepgraph.sources.simulate.helix import fit_circle

    need = {"track_id", "particle_id", "particle_px", "particle_py", "particle_q"}
    est: list[float] = []
    weight: list[float] = []
    for ev in events:
        if not need <= set(ev):
            return None
        tid = np.asarray(ev["track_id"], np.int64)
        pid = np.asarray(ev["particle_id"], np.int64)
        pt = np.hypot(np.asarray(ev["particle_px"], np.float64), np.asarray(ev["particle_py"], np.float64))
        q = np.asarray(ev["particle_q"], np.float64)
        vtx = np.stack([np.asarray(ev.get(f"particle_v{c}", np.zeros(pid.size)), np.float64) for c in "xy"], 1)
        x, y = np.asarray(ev["x"], np.float64), np.asarray(ev["y"], np.float64)
        ids, cnt = np.unique(tid[tid >= 0], return_counts=True)
        for p in ids[cnt >= min_hits]:
            j = np.flatnonzero(pid == p)
            if j.size == 0 or not (np.isfinite(pt[j[0]]) and pt[j[0]] > 0 and q[j[0]] != 0):
                continue
            m = tid == p
            xs, ys = x[m], y[m]
            v = np.nan_to_num(vtx[j[0]])
            far = int(np.argmax(np.hypot(xs - v[0], ys - v[1])))
            near = int(np.argmin(np.hypot(xs - v[0], ys - v[1])))
            if far == near:
                continue
            xc, yc, rad = fit_circle(xs, ys)
            kappa = 0.0
            dx, dy = xs[far] - xs[near], ys[far] - ys[near]
            if np.isfinite(rad) and rad > 0:
                left = dx * (yc - ys[near]) - dy * (xc - xs[near]) > 0
                kappa = (1.0 if left else -1.0) * 1e3 / rad
            est.append(-np.sign(q[j[0]]) * kappa * pt[j[0]] / C_CURV)
            lever = np.hypot(dx, dy) if far != near else 0.0
            weight.append(lever**4 / pt[j[0]] ** 2)
            if len(est) >= max_tracks:
                break
        if len(est) >= max_tracks:
            break
    if not est:
        return None
    b, w = np.asarray(est), np.asarray(weight)
    if w.sum() <= 0:
        return None
    order = np.argsort(b)
    cum = np.cumsum(w[order])
    med = float(b[order][np.searchsorted(cum, 0.5 * cum[-1])])
    agree = w[np.sign(b) == np.sign(med)].sum() / w.sum()
    return float(np.round(med, 2)) if agree >= 0.8 and med != 0 else 0.0
