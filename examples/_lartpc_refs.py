"""Truth-assisted reference separations for study 4 (LArTPC particle ID).

Each reference is told one piece of truth a reconstruction would have to find (the shower
axis; the primary track's hits) and then uses only what the detector recorded, to say how
much of a pair's separation is in the simulated data at all — the ceiling a network is
compared with in ``docs/results.md``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

LOG = logging.getLogger("study")


def egamma_reference(data, max_perp: float = 10.0, window: float = 30.0) -> dict:
    """e/gamma separation of the trunk dE/dx, given the true shower axis (a perfect-axis check).

    Per e- and gamma event: hits within ``max_perp`` mm of the primary's true axis; the shower
    start is the first of them along the axis; dE/dx = charge of the hits in the next
    ``window`` mm / ``window`` (MeV/mm). A photon's trunk is the e+e- pair (~2 MIP), an
    electron's one MIP, so this separates them when the start is found; the networks must
    find the start themselves.
    """
    from hepgraph import open_dataset
    from hepgraph.metrics.classification import roc_auc

    ds = open_dataset(data)
    names = ds.manifest["label_names"]
    vals: dict[int, list[float]] = {names.index("e-"): [], names.index("gamma"): []}
    for k in range(len(ds)):
        e = ds[k]
        lab = int(e["label"])
        if lab not in vals or len(e["x"]) == 0:
            continue
        d = np.array([e["particle_px"][0], e["particle_py"][0], e["particle_pz"][0]], dtype=np.float64)
        d /= np.linalg.norm(d)
        rel = np.stack([e["x"], e["y"], e["z"]], 1) - [e["particle_vx"][0], e["particle_vy"][0], e["particle_vz"][0]]
        s = rel @ d                                                            # (N,) mm along the axis
        near = np.linalg.norm(rel - s[:, None] * d, axis=1) < max_perp
        if near.sum() >= 5:
            s0 = s[near].min()
            vals[lab].append(float(e["charge"][near & (s < s0 + window)].sum() / window))
    el, ga = (np.array(vals[names.index(n)]) for n in ("e-", "gamma"))
    auc = roc_auc(np.r_[np.zeros(el.size), np.ones(ga.size)], np.r_[el, ga])
    LOG.info("reference e/gamma trunk dE/dx (true axis): AUC %.3f", auc)
    return {"events_e": int(el.size), "events_gamma": int(ga.size), "median_dedx_e": float(np.median(el)),
            "median_dedx_gamma": float(np.median(ga)), "auc_gamma_vs_e": auc}


MUPI_FEATURES = (["range", "margin", "contained", "q_track", "q_total", "n_hits"]
                 + [f"q_end_{r:g}" for r in (4.5, 9, 15, 30, 60)]
                 + [f"q_track_last_{s}" for s in (15, 30, 60, 120)]
                 + ["q_off", "n_off", "n_off_2mev", "q_track_per_mm"])


def mupi_features(e: dict[str, Any], extent: np.ndarray, tube: float = 4.5) -> list[float] | None:
    """Per-event features of a mu-/pi+ event given its primary's hits (perfect tracking).

    The truth ``track_id`` only picks the primary's hit *positions* (its geometry: range in mm
    from the true vertex, end point, distance ``margin`` of the end from the nearest face of
    the detector box ``extent`` (3, 2) mm); every charge (MeV) is summed over all hits by position:
    the track tube (hits within ``tube`` mm of a primary hit), spheres around the end point, the
    last 15–120 mm of the tube, and everything off the tube (decays, interactions, deltas).
    Returns ``None`` when the primary left fewer than 2 hits.
    """
    from scipy.spatial import cKDTree

    xyz = np.stack([e["x"], e["y"], e["z"]], 1).astype(np.float64)
    q = np.asarray(e["charge"], dtype=np.float64)
    prim = np.asarray(e["track_id"]) == e["particle_id"][0]
    if prim.sum() < 2:
        return None
    p = xyz[prim]
    v = np.array([e["particle_vx"][0], e["particle_vy"][0], e["particle_vz"][0]], np.float64)
    dv = np.linalg.norm(p - v, axis=1)
    end, rng = p[np.argmax(dv)], float(dv.max())
    margin = float(min(np.min(end - extent[:, 0]), np.min(extent[:, 1] - end)))
    de = np.linalg.norm(xyz - end, axis=1)
    on = cKDTree(p).query(xyz, distance_upper_bound=tube)[0] < tube
    off = ~on
    return ([rng, margin, float(margin > 15.0), q[on].sum(), q.sum(), float(len(q))]
            + [q[de < r].sum() for r in (4.5, 9, 15, 30, 60)]
            + [q[on & (de < s)].sum() for s in (15, 30, 60, 120)]
            + [q[off].sum(), float(off.sum()), float((q[off] > 2.0).sum()), q[on].sum() / max(rng, 1.0)])


def mupi_reference(data, seed: int = 0) -> dict:
    """mu-/pi+ separation with perfect tracking: gradient-boosted trees on :func:`mupi_features`.

    Trained on the train + validation splits' mu-/pi+ events, scored on the test split's;
    reported overall and for contained primaries (end > 15 mm inside every face, where range
    and deposited energy measure the mass) and exiting ones. A network's mu-/pi+ numbers on
    the same test split are to be read against these.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from hepgraph import open_dataset
    from hepgraph.metrics.classification import roc_auc

    ds = open_dataset(data)
    names = ds.manifest["label_names"]
    mu, pi = names.index("mu-"), names.index("pi+")
    extent = np.asarray(ds.manifest["extra"]["extent"], dtype=np.float64)        # (3, 2) mm
    rows: dict[str, tuple[list, list]] = {}
    for split in ("train", "val", "test"):
        sub, xs, ys = ds.split(split), [], []
        for k in range(len(sub)):
            e = sub[k]
            lab = int(e["label"])
            f = mupi_features(e, extent) if lab in (mu, pi) and len(e["x"]) else None
            if f is not None:
                xs.append(f)
                ys.append(int(lab == pi))
        rows[split] = (xs, ys)
    xtr = np.array(rows["train"][0] + rows["val"][0])
    ytr = np.array(rows["train"][1] + rows["val"][1])
    xte, yte = np.array(rows["test"][0]), np.array(rows["test"][1])
    clf = HistGradientBoostingClassifier(max_iter=400, learning_rate=0.05, random_state=seed).fit(xtr, ytr)
    prob = clf.predict_proba(xte)[:, 1]
    out: dict[str, Any] = {"train_events": int(ytr.size)}
    contained = xte[:, MUPI_FEATURES.index("contained")] == 1
    for name, m in (("all", np.ones_like(contained)), ("contained", contained), ("exiting", ~contained)):
        yy, pp = yte[m], prob[m]
        auc = roc_auc(yy, pp) if 0 < yy.sum() < yy.size else None          # needs both classes
        out[name] = {"events_mu": int((yy == 0).sum()), "events_pi": int((yy == 1).sum()),
                     "accuracy": float(((pp > 0.5) == yy).mean()) if yy.size else None,
                     "auc_pi_vs_mu": auc}
    LOG.info("reference mu/pi (perfect tracking): %s", out["all"])
    return out
