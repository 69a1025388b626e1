"""Study 3: KVI drift-chamber event classification of e+e- reactions at the psi(2S).

Three classes (the seed study's): e+e- -> psi(2S) -> pi+ pi- J/psi with J/psi -> e+e-
(``ee_psi2s_pipijpsi_ee``) or mu+mu- (``ee_psi2s_pipijpsi_mumu``), and the continuum
e+e- -> pi+ pi- mu+ mu- (``ee_pipimumu``), from the decay-chain generator
(``sources/simulate/decay.py``: beam at sqrt(s) = 3.686 GeV with its spread and crossing
angle, Breit-Wigner J/psi, phase-space decays). The J/psi events differ from the continuum
by their kinematics (two stiff leptons, two soft pions), ee from mumu only by dE/dx.
The same small CNN on x-y images with the four pixel encodings (binary, total charge,
average charge, per-hit) vs a GNN (EdgeConv) on the raw hits; same split/seed/epochs.
ROC curves in ``models/*/test/roc.png`` (one vs rest) and ``models/*/test/roc_pairs.png``
(one vs one, per pair of classes); the AUCs (per class, per pair, macro) in ``study.json``
and the per-pair table in ``compare/comparison.md``. ``study.json`` also holds a reference
without images: a gradient-boosted classifier on the event's charge quantiles, and on
per-track dE/dx and p_T with the true hit-to-track assignment (a perfect-tracking analysis).

    python examples/chamber_classification.py --scale small     # a few CPU minutes
    python examples/chamber_classification.py --scale medium    # <= ~15 CPU minutes
    python examples/chamber_classification.py --scale full      # GPU
"""

from __future__ import annotations

import logging

import numpy as np
from _common import compare, headline, parse_args, save, simulate

CLASSES = ["ee_psi2s_pipijpsi_ee", "ee_psi2s_pipijpsi_mumu", "ee_pipimumu"]
#: The seed study's one-vs-one AUCs (binary images; charge encodings for ee vs mumu).
SEED_AUC = {"jpsi_vs_continuum_binary": 0.98, "ee_vs_mumu_binary": 0.5, "ee_vs_mumu_total": 0.8,
            "ee_vs_mumu_average": 0.85}


def _models(shape: int, channels: str, gnn: list[str]) -> dict[str, list[str]]:
    m = {f"{enc}=small-cnn": [f"model.encoding={enc}", f"model.image_shape=[{shape},{shape}]",
                              f"model.channels={channels}"]
         for enc in ("binary", "total", "average", "per_hit")}
    m["edgeconv"] = gnn
    return m


SCALES = {
    "small": {"events": 800, "epochs": 5, "batch": 16,
              "models": _models(48, "[16,32,64]", ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"])},
    "medium": {"events": 6000, "epochs": 8, "batch": 16,
               "models": _models(48, "[16,32,64]", ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"])},
    "full": {"events": 60000, "epochs": 30, "batch": 64,
             "models": _models(128, "[32,64,128]", ["model.k=16"])},
}


def _event_features(e: dict, truth: bool) -> list[float]:
    """Hit count and charge quantiles of an event; with ``truth``, also per true track (4 lowest
    truncated-mean charges, 70 %, with their p_T), i.e. a perfect-tracking dE/dx analysis."""
    q = np.asarray(e["charge"], dtype=np.float64)
    f = [float(q.size), *np.quantile(q, [0.1, 0.25, 0.5, 0.75, 0.9]), float(q.mean())] if q.size else [0.0] * 7
    if truth:
        tracks = []
        for pid, px, py in zip(e["particle_id"], e["particle_px"], e["particle_py"]):
            qq = np.sort(q[e["track_id"] == pid])
            if qq.size >= 5:
                tracks.append((float(qq[: int(0.7 * qq.size)].mean()), float(np.hypot(px, py))))
        tracks = (sorted(tracks) + [(0.0, 0.0)] * 4)[:4]
        f += [v for t in tracks for v in t]
    return f


def charge_reference(data, seed: int) -> dict:
    """Test accuracy and per-pair AUC of a gradient-boosted classifier on dE/dx summaries.

    A check of how much the hit charges can tell the topologies apart without images: event
    charge quantiles (what the ``total``/``average`` encodings see, and more), and the same
    plus per-track truncated-mean dE/dx and p_T from the *true* hit-to-track assignment.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from hepgraph import open_dataset
    from hepgraph.metrics.classification import auc_per_pair

    ds = open_dataset(data)
    out = {}
    for name, truth in (("event charge quantiles", False), ("true tracks: truncated dE/dx + pT", True)):
        xy = {}
        for split in ("train", "test"):
            d = ds.split(split)
            rows = [d[i] for i in range(len(d))]
            xy[split] = (np.array([_event_features(e, truth) for e in rows]),
                         np.array([int(e["label"]) for e in rows]))
        clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed)
        clf.fit(*xy["train"])
        probs, y = clf.predict_proba(xy["test"][0]), xy["test"][1]
        out[name] = {"accuracy": float(np.mean(probs.argmax(1) == y)), "auc_per_pair": auc_per_pair(y, probs)}
        logging.getLogger("study").info("reference (%s): test accuracy %.3f", name, out[name]["accuracy"])
    return out


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "studies/chamber_classification", scales=SCALES)
    s = SCALES[args.scale]
    data = simulate("sim-drift-chamber", args.out / "data", s["events"], args.seed, {"classes": CLASSES})
    res = compare(data, s["models"], args.out / "compare", "Drift-chamber event classification",
                  task="classification", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"], overrides=["train.scheduler=cosine"])
    ref = charge_reference(data, args.seed)
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "accuracy": headline(res), "class_names": CLASSES, "charge_reference": ref,
                    "auc_macro": {m["model"]: m["test"].get("auc_macro") for m in res["models"]},
                    "auc_per_class": {m["model"]: m["test"].get("auc_per_class") for m in res["models"]},
                    "auc_per_pair": {m["model"]: m["test"].get("auc_per_pair") for m in res["models"]},
                    "seed_auc": SEED_AUC})


if __name__ == "__main__":
    main()
