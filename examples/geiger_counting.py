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

    python examples/geiger_counting.py --scale small     # ~2 CPU minutes
    python examples/geiger_counting.py --scale medium    # <= ~15 CPU minutes
    python examples/geiger_counting.py --scale full      # GPU
"""

from __future__ import annotations

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
                    "auc_per_pair": {m["model"]: m["test"].get("auc_per_pair") for m in res["models"]}})


if __name__ == "__main__":
    main()
