"""Study 4: LArTPC 5-class particle ID (e-, mu-, gamma, pi+, p) on ``sim-lartpc``.

Compares inception-cvn (three views), a dense ResNet on x-y images, a multiview dense
ResNet and a sparse ResNet on 3D voxels, with the same split, seed and epochs. The
confusion matrices (``models/*/test/confusion.png``) show the e/gamma separation.
Target of the original studies: >= 95% accuracy for the best network (full scale).

    python examples/lartpc_pid.py --scale small     # CPU, a few minutes
    python examples/lartpc_pid.py --scale full      # GPU
"""

from __future__ import annotations

from _common import compare, headline, parse_args, save, simulate

SCALES = {
    "small": {"events": 400, "epochs": 3, "batch": 8,
              "models": {"inception-cvn": ["model.width=0.25", "model.image_shape=[48,48]"],
                         "dense-resnet18": ["model.base_channels=8", "model.image_shape=[48,48]"],
                         "dense-resnet18-multiview": ["model.base_channels=8", "model.image_shape=[48,48]"],
                         "sparse-resnet18": ["model.base_channels=8", "model.voxel_size=24.0"]}},
    "full": {"events": 50000, "epochs": 30, "batch": 32,
             "models": {"inception-cvn": ["model.image_shape=[128,128]"],
                        "dense-resnet50": ["model.image_shape=[256,256]"],
                        "dense-resnet18-multiview": ["model.image_shape=[256,256]"],
                        "sparse-resnet50": ["model.voxel_size=6.0"]}},
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "studies/lartpc_pid")
    s = SCALES[args.scale]
    data = simulate("sim-lartpc", args.out / "data", s["events"], args.seed)
    res = compare(data, s["models"], args.out / "compare", "LArTPC 5-class particle ID",
                  task="classification", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"])
    cms = {m["model"]: m["test"].get("confusion_matrix") for m in res["models"]}
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "accuracy": headline(res), "confusion": cms,
                    "auc_per_class": {m["model"]: m["test"].get("auc_per_class") for m in res["models"]}})


if __name__ == "__main__":
    main()
