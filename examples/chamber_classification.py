"""Study 3: drift-chamber event classification (pi pi e e / pi pi mu mu / mu mu mu mu).

The same small CNN on x-y images with the four pixel encodings (binary, total charge,
average charge, per-hit) vs a GNN (EdgeConv) on the raw hits; same split/seed/epochs.
ROC curves in ``models/*/test/roc.png``; one-vs-rest AUC per class and macro AUC in ``study.json``.

    python examples/chamber_classification.py --scale small
    python examples/chamber_classification.py --scale full
"""

from __future__ import annotations

from _common import compare, headline, parse_args, save, simulate

CLASSES = ["pipiee", "pipimumu", "mumumumu"]


def _models(shape: int, channels: str, gnn: list[str]) -> dict[str, list[str]]:
    m = {f"{enc}=small-cnn": [f"model.encoding={enc}", f"model.image_shape=[{shape},{shape}]",
                              f"model.channels={channels}"]
         for enc in ("binary", "total", "average", "per_hit")}
    m["edgeconv"] = gnn
    return m


SCALES = {
    "small": {"events": 800, "epochs": 5, "batch": 16,
              "models": _models(48, "[16,32,64]", ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"])},
    "full": {"events": 60000, "epochs": 30, "batch": 64,
             "models": _models(128, "[32,64,128]", ["model.k=16"])},
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "studies/chamber_classification")
    s = SCALES[args.scale]
    data = simulate("sim-drift-chamber", args.out / "data", s["events"], args.seed, {"classes": CLASSES})
    res = compare(data, s["models"], args.out / "compare", "Drift-chamber event classification",
                  task="classification", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"])
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "accuracy": headline(res),
                    "auc_macro": {m["model"]: m["test"].get("auc_macro") for m in res["models"]},
                    "auc_per_class": {m["model"]: m["test"].get("auc_per_class") for m in res["models"]}})


if __name__ == "__main__":
    main()
