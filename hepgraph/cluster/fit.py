"""Track fits: a circle in the transverse plane (Kåsa or Taubin) and a line in (s, z).

For a particle of charge q in a solenoid field B along +z the transverse projection is a
circle of radius R with p_T = 0.3·|B|·R (GeV, T, m); a positive particle in B > 0 turns
clockwise seen from +z. Along the circle, z is linear in the transverse arc length s:
z = z₀ + s·cot θ, so p_z = p_T·cot θ.

Impact parameter: the perigee P is the point of the circle closest to the z axis,
d₀ = ±|P| with the ATLAS sign convention (positive when P lies at +90° in azimuth from the
momentum direction at P, i.e. (p × P)_z > 0); z₀ is z at the perigee.

- Kåsa: linear least squares of x² + y² + D·x + E·y + F = 0 (fast; biased for short arcs).
- Taubin: the gradient-weighted algebraic fit, solved by SVD (Chernov's "TaubinSVD");
  nearly unbiased, the default.

What the validation truth shows about a detector the dataset does not describe (read by
``hepgraph cluster --tune``): :func:`truth_curvature` (how much tracks bend) and
:func:`truth_lines` (their slopes, and whether they come from the beam line).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from hepgraph.cluster.base import label_groups
from hepgraph.constants import C_CURV, M
from hepgraph.errors import ConfigError, DataError

__all__ = ["fit_circle_kasa", "fit_circle_taubin", "fit_helix", "fit_tracks", "truth_curvature", "truth_lines",
           "FIT_FIELDS"]

#: Keys of the dict returned by :func:`fit_tracks` (each (T,)).
FIT_FIELDS = ("track_id", "nhits", "pt", "pz", "q", "d0", "z0", "phi0", "cot_theta", "radius", "xc", "yc")


def fit_circle_kasa(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Kåsa circle fit. Returns ``(xc, yc, R)`` in the input unit (mm)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(), y.mean()  # centring improves conditioning
    u, v = x - mx, y - my
    a = np.stack([u, v, np.ones_like(u)], 1)
    (d, e, f), *_ = np.linalg.lstsq(a, -(u * u + v * v), rcond=None)
    xc, yc = -d / 2, -e / 2
    r2 = xc * xc + yc * yc - f
    return float(xc + mx), float(yc + my), float(np.sqrt(r2)) if r2 > 0 else float("nan")


def _particles(events: Sequence[Mapping[str, Any]], min_hits: int) -> Iterator[np.ndarray]:
    """(n, 3) hits (mm) of each true particle with ``min_hits`` hits or more."""
    for ev in events:
        tid = np.asarray(ev["track_id"], np.int64)
        pos = np.stack([np.asarray(ev[c], np.float64) for c in ("x", "y", "z")], 1)
        for idx in label_groups(tid):
            if idx.size >= max(min_hits, 2) and tid[idx[0]] >= 0:
                yield pos[idx]


def _menger(p: np.ndarray) -> float:
    """Curvature (1/length) of the circle through the first, middle and last of the points
    ``p`` (n, D) ordered along their main axis: 2·|(b - a) × (c - a)| / (|b - a|·|c - b|·|c - a|)."""
    q = p - p.mean(0)
    q = q[np.argsort(q @ np.linalg.svd(q, full_matrices=False)[2][0])]
    a, b, c = q[0], q[len(q) // 2], q[-1]
    u, v = b - a, c - a
    area2 = np.sqrt(max(float(u @ u) * float(v @ v) - float(u @ v) ** 2, 0.0))   # |u × v| in any D
    sides = np.linalg.norm(u) * np.linalg.norm(c - b) * np.linalg.norm(v)
    return 2.0 * area2 / sides if sides > 0 else 0.0


def truth_curvature(events: Sequence[Mapping[str, Any]], quantile: float = 0.95, min_hits: int = 3) -> float:
    """The ``quantile`` of the true particles' curvatures |κ| (1/mm): the range track
    finding must search, measured without knowing the field.

    κ of a particle is the Menger curvature of its first, middle and last hit along its main
    axis (exact on a circular arc under 180°, 0 on a line, wherever the track starts): in
    the transverse (x, y) plane, where a solenoid along z bends tracks, for particles that
    cross it (transverse span at least 30 % of the 3D span); in 3D for tracks along z,
    whose transverse projection is too short to measure a bend on.

    Args:
        events: event dicts with ``x, y, z`` (mm) and truth ``track_id`` (-1 noise).
        quantile: fraction of the particles (with ``min_hits`` hits or more) inside the range.

    Raises:
        DataError: no particle with ``min_hits`` hits.
    """
    kappas = []
    for hits in _particles(events, max(min_hits, 3)):
        span = np.ptp(hits, axis=0)
        across = np.hypot(span[0], span[1]) >= 0.3 * np.linalg.norm(span)
        kappas.append(_menger(hits[:, :2] if across else hits))
    if not kappas:
        raise DataError(f"no true particle with {min_hits} or more hits to measure track curvatures from")
    return float(np.quantile(kappas, quantile))


def truth_lines(events: Sequence[Mapping[str, Any]], min_hits: int = 3,
                z_range: tuple[float, float] = (-np.inf, np.inf)) -> dict[str, np.ndarray]:
    """Straight-line fits of the true particles, to tell how tracks sit in the detector.

    Per particle (``min_hits`` hits or more): the principal axis of its hits, its slopes
    ``tx, ty`` = dx/dz, dy/dz (inf for a line in a plane z = const), and ``pointing``: the
    angle (rad) under which the line misses the point v of the z axis closest to it, with
    v's z kept inside ``z_range`` (mm, where vertices may be), seen from v towards the hits'
    centre. 0 for a track from a vertex on the beam line in that range.

    Returns:
        ``{"tx", "ty", "pointing"}``, each (P,).
    """
    tx, ty, point = [], [], []
    for p in _particles(events, min_hits):
        c = p.mean(0)
        d = np.linalg.svd(p - c, full_matrices=False)[2][0]
        flat = abs(d[2]) < 1e-12
        tx.append(np.inf if flat else d[0] / d[2])
        ty.append(np.inf if flat else d[1] / d[2])
        dt2 = d[0] ** 2 + d[1] ** 2
        t = 0.0 if dt2 < 1e-18 else -(c[0] * d[0] + c[1] * d[1]) / dt2   # closest to the axis: c + t d
        v = np.array([0.0, 0.0, np.clip(c[2] + t * d[2], *z_range)])
        miss = np.linalg.norm(np.cross(v - c, d))                          # distance of v to the line
        point.append(float(np.arctan2(miss, np.linalg.norm(c - v))))
    return {"tx": np.asarray(tx), "ty": np.asarray(ty), "pointing": np.asarray(point)}


def fit_circle_taubin(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Taubin circle fit (SVD form, Chernov 2010). Returns ``(xc, yc, R)``."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(), y.mean()
    u, v = x - mx, y - my
    z = u * u + v * v
    zm = z.mean()
    if zm <= 0:
        return float("nan"), float("nan"), float("nan")
    z0 = (z - zm) / (2 * np.sqrt(zm))
    _, _, vt = np.linalg.svd(np.stack([z0, u, v], 1), full_matrices=False)
    a = vt[-1].copy()
    a[0] = a[0] / (2 * np.sqrt(zm))
    a0, a1, a2 = a
    a3 = -zm * a0
    if abs(a0) < 1e-300:
        return float("nan"), float("nan"), float("inf")
    xc, yc = -a1 / a0 / 2 + mx, -a2 / a0 / 2 + my
    r = np.sqrt(a1 * a1 + a2 * a2 - 4 * a0 * a3) / abs(a0) / 2
    return float(xc), float(yc), float(r)


def fit_helix(pos: np.ndarray, field_T: float, method: str = "taubin") -> dict[str, float]:
    """Fit one track's hits (M, 3) in mm (M >= 3): momentum, charge, perigee parameters.

    Args:
        pos: (M, 3) hit positions in mm, any order.
        field_T: solenoid field along z in T (sign matters for the charge).
        method: ``taubin`` or ``kasa``.

    Returns:
        ``pt, pz`` (GeV), ``q`` (±1), ``d0, z0`` (mm), ``phi0`` (rad, at the perigee),
        ``cot_theta``, ``radius, xc, yc`` (mm); NaN where the hits do not define them.
    """
    fits = {"taubin": fit_circle_taubin, "kasa": fit_circle_kasa}
    if method not in fits:
        raise ConfigError(f"unknown circle fit `{method}`; valid: {', '.join(fits)}")
    p = np.asarray(pos, np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or p.shape[0] < 3:
        raise DataError(f"a helix fit needs (M >= 3, 3) positions, got {p.shape}")
    xc, yc, r = fits[method](p[:, 0], p[:, 1])
    nan = float("nan")
    if not (np.isfinite(r) and r > 0):
        return dict(pt=nan, pz=nan, q=0.0, d0=nan, z0=nan, phi0=nan, cot_theta=nan, radius=r, xc=xc, yc=yc)
    # rotation sense of the hits ordered outwards: +1 counter-clockwise, -1 clockwise
    alpha = np.arctan2(p[:, 1] - yc, p[:, 0] - xc)
    order = np.argsort(np.hypot(p[:, 0], p[:, 1]), kind="stable")
    dalpha = np.diff(np.unwrap(alpha[order]))
    sense = 1.0 if dalpha.sum() >= 0 else -1.0
    q = -sense * (np.sign(field_T) if field_T != 0 else 1.0)
    dc = np.hypot(xc, yc)
    px_, py_ = (xc * (1 - r / dc), yc * (1 - r / dc)) if dc > 0 else (xc + r, yc)
    tx, ty = -sense * (py_ - yc) / r, sense * (px_ - xc) / r  # unit direction of motion at P
    d0 = np.hypot(px_, py_) * (1.0 if tx * py_ - ty * px_ > 0 else -1.0)
    alpha_p = np.arctan2(py_ - yc, px_ - xc)
    s = r * (np.mod(sense * (alpha - alpha_p) + np.pi, 2 * np.pi) - np.pi)
    if np.ptp(s) > 0:
        cot, z0 = np.polyfit(s, p[:, 2], 1)
    else:
        cot, z0 = nan, float(p[:, 2].mean())
    pt = C_CURV / M * abs(field_T) * r
    return dict(pt=float(pt), pz=float(pt * cot), q=float(q), d0=float(d0), z0=float(z0),
                phi0=float(np.arctan2(ty, tx)), cot_theta=float(cot), radius=float(r),
                xc=float(xc), yc=float(yc))


def fit_tracks(
    pos: np.ndarray, labels: np.ndarray, field_T: float, *, method: str = "taubin", min_hits: int = 3
) -> dict[str, np.ndarray]:
    """Fit every track of one event (one loop iteration per track, not per hit).

    Args:
        pos: (N, 3) hit positions in mm.
        labels: (N,) track label per hit, -1 = unassigned.
        field_T: field in T.
        method: ``taubin`` or ``kasa``.
        min_hits: tracks with fewer hits are skipped.

    Returns:
        Dict of (T,) arrays, keys :data:`FIT_FIELDS` (``track_id`` = the label).
    """
    lab = np.asarray(labels, np.int64)
    p = np.asarray(pos, np.float64)
    ok = np.flatnonzero(lab >= 0)
    order = ok[np.argsort(lab[ok], kind="stable")]
    ids, start, cnt = np.unique(lab[order], return_index=True, return_counts=True)
    rows: dict[str, list[float]] = {k: [] for k in FIT_FIELDS}
    for tid, s0, c in zip(ids, start, cnt):
        if c < max(min_hits, 3):
            continue
        res = fit_helix(p[order[s0:s0 + c]], field_T, method)
        res.update(track_id=float(tid), nhits=float(c))
        for k in FIT_FIELDS:
            rows[k].append(res[k])
    out = {k: np.asarray(v, np.float64) for k, v in rows.items()}
    out["track_id"] = out["track_id"].astype(np.int64)
    out["nhits"] = out["nhits"].astype(np.int64)
    return out
