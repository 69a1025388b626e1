"""Study 2: SuperNEMO-style track counting (0-3 tracks) on ``sim-geiger-grid``.

The small CNN on the two detector views x-y (top) and x-z (side) vs a GNN (EdgeConv on the
raw hits), same split/seed/epochs; confusion matrices and ROC curves (per class and per
pair of classes) in ``models/*/test/``.
Target of the original study: >= 99.6% counting accuracy (full scale).

The images are cell-aligned: 20 pixels in x (42.6 mm; each of the 2 x 9 cell layers,
44 mm apart, falls in its own pixel) and 113 pixels along y (one per 44 mm cell column) and
z (26.5 mm; sigma_z = 10 mm). The earlier default (three views at 40 x 40, i.e. 124 mm
pixels in y, three cells merged) could not separate tracks from the common vertex that
diverge by a cell or two, and confused 2 with 3 tracks (docs/results.md).

``study.json`` splits each model's test errors by event category (see ``_category``): the
count of some events hangs on one or two cells (a track at the 3-hit counting threshold, or
a track running next to another), and most errors sit there.

    python examples/geiger_counting.py --scale small     # ~2 CPU minutes
    python examples/geiger_counting.py --scale medium    # <= ~15 CPU minutes
    python examples/geiger_counting.py --scale full      # GPU
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import compare, headline, parse_args, save, simulate

CNN = ["model.views=[xy,xz]", "model.image_shape=[20,113]"]
GNN_SMALL = ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"]
SCALES = {
    "small": {"events": 2000, "epochs": 6, "batch": 16,
              "models": {"small-cnn": [*CNN, "model.channels=[16,32,64]"], "edgeconv": GNN_SMALL}},
    "medium": {"events": 16000, "epochs": 8, "batch": 32,
               "models": {"small-cnn": [*CNN, "model.channels=[16,32,64]"], "edgeconv": GNN_SMALL}},
    "full": {"events": 100000, "epochs": 40, "batch": 64,
             "models": {"small-cnn": CNN, "edgeconv": ["model.k=16"]}},
}


def _category(e: dict, min_hits: int = 3) -> str:
    """``adjacent``: a counted track has >= 80 % of its cells within one column (same layer) of
    another counted track's cells; ``threshold``: a track has within 2 hits of ``min_hits``
    (counted with ``min_hits``..``min_hits + 1`` hits, or not counted with 1..``min_hits - 1``);
    else ``clean``. These are the events whose count hangs on one or two cells."""
    nh = np.asarray(e["particle_nhits"])
    vis = np.asarray(e["particle_id"])[nh >= min_hits]
    cells = {p: set(zip(e["layer"][e["track_id"] == p].tolist(), e["wire"][e["track_id"] == p].tolist()))
             for p in vis}
    for p in vis:
        near = {(lay, w + d) for q in vis if q != p for lay, w in cells[q] for d in (-1, 0, 1)}
        if cells[p] and np.mean([c in near for c in cells[p]]) >= 0.8:
            return "adjacent"
    if ((nh >= min_hits) & (nh <= min_hits + 1)).any() or ((nh >= 1) & (nh < min_hits)).any():
        return "threshold"
    return "clean"


def error_breakdown(data: Path, run_dir: str, out: Path) -> dict:
    """Test events and wrong counts of a trained model per :func:`_category`."""
    import pyarrow.parquet as pq

    from hepgraph import open_dataset
    from hepgraph.runs.predict import predict

    t = pq.read_table(predict(run_dir, data, out, split="test", overwrite=True))
    pred = dict(zip(t["event_id"].to_pylist(), t["pred"].to_pylist()))
    ds = open_dataset(data).split("test")
    res = {c: {"events": 0, "wrong": 0} for c in ("clean", "threshold", "adjacent")}
    for k in range(len(ds)):
        e = ds[k]
        r = res[_category(e)]
        r["events"] += 1
        r["wrong"] += int(pred[int(e["event_id"])] != min(int(e["n_tracks"]), 3))
    return res


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "studies/geiger_counting", scales=SCALES)
    s = SCALES[args.scale]
    data = simulate("sim-geiger-grid", args.out / "data", s["events"], args.seed)
    res = compare(data, s["models"], args.out / "compare", "SuperNEMO-style track counting",
                  task="track-count", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"], overrides=["train.scheduler=cosine"])
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "accuracy": headline(res), "target": 0.996,
                    "confusion": {m["model"]: m["test"].get("confusion_matrix") for m in res["models"]},
                    "auc_per_pair": {m["model"]: m["test"].get("auc_per_pair") for m in res["models"]},
                    "errors_by_category": {m["model"]: error_breakdown(data, m["run_dir"], args.out / f"pred_{m['model']}.parquet")
                                           for m in res["models"]}})


if __name__ == "__main__":
    main()
