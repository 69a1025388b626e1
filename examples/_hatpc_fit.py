"""Classical reconstruction of ``sim-pad-tpc`` tracks for study 1, and its expected resolution.

Field along +x, so the bending plane is (z, y): a Taubin circle fit of the clusters in
(z, y) gives p_perp = 0.3 B R; the charge is the turning sense (a positive track moving
along +z turns towards +y, v x B = +y); the direction at the first cluster is the circle's
tangent there; x is a straight line in the arc length s, whose slope is p_x / p_perp. The
start of the track along the pads (z_ini) is estimated as half a pad column upstream of
the first cluster.

The expected momentum resolution is the Gluckstern measurement term
sigma(p_perp)/p_perp = sigma_y p_perp / (0.3 B L^2) sqrt(720 / (N + 4)) (N clusters over a
lever arm L in the bending plane) added in quadrature to the multiple-scattering term
0.0136 sqrt(L / X0) * 1.3 / (0.3 B L beta).
"""

from __future__ import annotations

import numpy as np

#: Masses (GeV) by |PDG id| for beta in the multiple-scattering term.
MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957, 321: 0.49368, 2212: 0.93827}
#: Event columns read as truth.
TRUTH = ("event_id", "p_perp", "q_p_perp", "px", "py", "pz", "p", "theta", "sin_phi", "vz")


def fit_event(ev: dict, field_t: float, pad_width: float) -> dict[str, float] | None:
    """The classical estimates of one event (None with fewer than 5 clusters or a failed fit)."""
    from hepgraph.cluster.fit import fit_circle_taubin

    if len(ev["z"]) < 5:
        return None
    order = np.argsort(ev["z"], kind="stable")
    x, y, z = (np.asarray(ev[c], np.float64)[order] for c in ("x", "y", "z"))
    zc, yc, r = fit_circle_taubin(z, y)
    if not np.isfinite(r) or r <= 0:
        return None
    p_perp = 0.299792458 * field_t * r / 1000.0
    a, b = np.array([z[0], y[0]]), np.array([z[-1], y[-1]])
    mid = np.array([z[len(z) // 2], y[len(z) // 2]])
    d1, d2 = mid - a, b - mid
    q = 1.0 if d1[0] * d2[1] - d1[1] * d2[0] > 0 else -1.0      # left turn in (z, y): positive
    # Tangent at the first cluster: perpendicular to the radius, along the motion.
    rad = a - np.array([zc, yc])
    t = np.array([-rad[1], rad[0]]) * q
    t /= np.linalg.norm(t)
    if np.dot(t, b - a) < 0:
        t = -t
    phase = np.unwrap(np.arctan2(y - yc, z - zc))
    s = np.abs(phase - phase[0]) * r                            # arc length in the bending plane
    slope = np.polyfit(s, x, 1)[0] if np.ptp(s) > 0 else 0.0
    pz, py, px = p_perp * t[0], p_perp * t[1], p_perp * slope
    p = float(np.sqrt(px * px + py * py + pz * pz))
    lever = float(np.hypot(np.ptp(z), np.ptp(y))) / 1000.0
    return {"p_perp": p_perp, "q_p_perp": q * p_perp, "px": px, "py": py, "pz": pz, "p": p,
            "theta": float(np.arccos(np.clip(pz / p, -1, 1))), "sin_phi": py / max(np.hypot(px, py), 1e-12),
            "vz": float(z[0] - 0.5 * pad_width), "n": len(z), "lever_m": lever}


def classical(ds, preset: dict) -> dict[str, np.ndarray]:
    """Classical estimates, truth and the expected resolution of every event of ``ds``.

    Returns:
        ``{"fit_<target>": ..., "true_<target>": ..., "gluckstern": ..., "ms": ..., "ok": ...}``
        arrays over the events of ``ds`` (in order), NaN where the fit failed.
    """
    from hepgraph.sources.simulate.material import material

    b, w = float(preset["field_T"]), float(preset["pad_width"])
    sigma_m = float(preset["sigma_y"]) / 1000.0
    x0_m = material(preset["material"]).x0_cm / 100.0
    rows = {}
    for i in range(len(ds)):
        ev = ds[i]
        f = fit_event(ev, b, w)
        for k in TRUTH:
            rows.setdefault(f"true_{k}", []).append(float(ev[k]))
        for k in TRUTH[1:]:
            rows.setdefault(f"fit_{k}", []).append(np.nan if f is None else f[k])
        pdg = np.asarray(ev["particle_pdg"])
        mass = MASS.get(abs(int(pdg[0])), 0.13957) if len(pdg) else 0.13957
        pp, p = float(ev["p_perp"]), float(ev["p"])
        if f is None or f["lever_m"] <= 0:
            glu = ms = np.nan
        else:
            L, n = f["lever_m"], f["n"]
            glu = sigma_m * pp / (0.3 * b * L * L) * np.sqrt(720.0 / (n + 4))
            ms = 0.0136 * np.sqrt(L / x0_m) * 1.3 / (0.3 * b * L * (p / np.hypot(p, mass)))
        rows.setdefault("gluckstern", []).append(glu)
        rows.setdefault("ms", []).append(ms)
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["ok"] = np.isfinite(out["fit_p_perp"])
    return out


def sigma68(r: np.ndarray) -> float:
    """Half the 16-84 % range (NaN when fewer than 5 values)."""
    r = np.asarray(r)[np.isfinite(r)]
    if r.size < 5:
        return float("nan")
    q16, q84 = np.percentile(r, [15.865, 84.135])
    return float(0.5 * (q84 - q16))
