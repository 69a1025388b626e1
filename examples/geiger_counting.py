"""Study 2: SuperNEMO-style track counting (0-3 tracks) on ``sim-geiger-grid``.

The three-view small CNN (x-y, y-z, x-z images of the Geiger cells) vs a GNN (EdgeConv on
the raw hits), same split/seed/epochs; confusion matrices in ``models/*/test/``.
Target of the original study: >= 99.6% counting accuracy (full scale).

    python examples/geiger_counting.py --scale small
    python examples/geiger_counting.py --scale full
"""

from __future__ import annotations

from _common import compare, headline, parse_args, save, simulate

SCALES = {
    "small": {"events": 2000, "epochs": 6, "batch": 16,
              "models": {"small-cnn": ["model.views=[xy,yz,xz]", "model.image_shape=[40,40]",
                                       "model.channels=[16,32,64]"],
                         "edgeconv": ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"]}},
    "full": {"events": 100000, "epochs": 40, "batch": 64,
             "models": {"small-cnn": ["model.views=[xy,yz,xz]", "model.image_shape=[113,9]"],
                        "edgeconv": ["model.k=16"]}},
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "studies/geiger_counting")
    s = SCALES[args.scale]
    data = simulate("sim-geiger-grid", args.out / "data", s["events"], args.seed)
    res = compare(data, s["models"], args.out / "compare", "SuperNEMO-style track counting",
                  task="track-count", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"])
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "accuracy": headline(res), "target": 0.996,
                    "confusion": {m["model"]: m["test"].get("confusion_matrix") for m in res["models"]}})


if __name__ == "__main__":
    main()
