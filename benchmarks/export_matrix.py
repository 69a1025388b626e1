"""Export matrix: train a tiny run per model and export it to ONNX and TorchScript.

Each export is checked by ``hepgraph export`` on three batches of different numbers of
events and hits (onnxruntime for ONNX). Prints a Markdown table (model, level, format:
works with max |diff| and the graph's inputs, or the one-line refusal) for docs/export.md,
plus onnxruntime vs PyTorch inference time per batch of 8 events, interleaved.

    python benchmarks/export_matrix.py --out /tmp/export_matrix
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from typer.testing import CliRunner

SMALL = ["--set", "model.hidden_channels=8"]
IMG = ["--set", "model.image_shape=[16,16]", "--set", "model.base_channels=8"]
IMG3 = ["--set", "model.image_shape=[16,16,16]", "--set", "model.base_channels=4"]
# (model, data, task, extra train args)
CASES = [
    ("mlp", "lar", "classification", SMALL),
    ("small-cnn", "lar", "classification", []),
    ("inception-cvn", "lar", "classification", []),
    ("dense-resnet18", "lar", "classification", IMG),
    ("dense-resnet50", "lar", "segmentation", IMG),
    ("dense-resnet18-multiview", "lar", "classification", IMG),
    ("dense-resnet18-3d", "lar", "classification", IMG3),
    ("dense-unet", "lar", "segmentation", ["--set", "model.image_shape=[16,16]"]),
    ("edgeconv", "lar", "classification", SMALL),
    ("edgeconv", "dc", "edge-classification", SMALL),
    ("gatv2", "lar", "segmentation", SMALL),
    ("gravnet", "lar", "segmentation", SMALL),
    ("gravnet", "dc", "condensation", SMALL),
    ("interaction-network", "dc", "edge-classification", SMALL),
    ("point-transformer", "lar", "classification", SMALL),
    ("sparse-resnet18", "lar", "classification", ["--set", "model.base_channels=4"]),
    ("sparse-unet", "lar", "segmentation", ["--set", "model.channels=[4,8]"]),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/export_matrix"))
    args = ap.parse_args()
    from hepgraph.cli.main import app

    runner = CliRunner()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    data = {"lar": ("sim-lartpc", 40), "dc": ("sim-drift-chamber", 24)}
    for key, (src, n) in data.items():
        if not (out / key).exists():
            r = runner.invoke(app, ["build-dataset", "--source", src, "--out", str(out / key), "--events", str(n)])
            assert r.exit_code == 0, r.output
    rows = ["| model | task (level) | ONNX | TorchScript | inputs |", "|---|---|---|---|---|"]
    timing = []
    for model, key, task, extra in CASES:
        run = out / f"{model}-{task}"
        if not run.exists():
            r = runner.invoke(app, ["train", "--model", model, "--data", str(out / key), "--out", str(run),
                                    "--task", task, "--epochs", "1", "--device", "cpu", "--batch-size", "4",
                                    "--set", "train.max_steps_per_epoch=1", *extra])
            assert r.exit_code == 0, (model, r.output)
        cells, inputs, level = [], "", ""
        for fmt in ("onnx", "torchscript"):
            target = out / f"{model}-{task}.{fmt}"
            r = runner.invoke(app, ["export", str(run), "--format", fmt, "--out", str(target),
                                    "--data", str(out / key), "--overwrite"])
            text = " ".join(r.output.split())
            if r.exit_code == 0:
                diff = text.split("max |diff| ")[1].split(" ")[0]
                inputs = text.split("inputs ")[1].split(";")[0]
                level = text.split("out per ")[1].split(" ")[0]
                cells.append(f"works (max diff {diff})")
                if fmt == "onnx":
                    timing.append((model, task, _time(run, target, out / key)))
            else:
                cells.append("refused: " + text.removeprefix("error: ").split(": ", 1)[-1][:90] + "...")
        rows.append(f"| {model} | {task} ({level or '-'}) | {cells[0]} | {cells[1]} | {inputs or '-'} |")
    print("\n".join(rows))
    print("\n| model | task | PyTorch ms/batch | onnxruntime ms/batch | PyTorch / onnxruntime |\n|---|---|---|---|---|")
    for model, task, (pt, ox) in timing:
        print(f"| {model} | {task} | {pt:.1f} | {ox:.1f} | {pt / ox:.2f} |")
    print(f"\nload average {os.getloadavg()}")


def _time(run: Path, onnx_path: Path, data: Path, reps: int = 7) -> tuple[float, float]:
    """Median ms per batch of 8 events: PyTorch and onnxruntime, one thread each, interleaved
    (after one warm-up call of each)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from hepgraph import open_dataset
    from hepgraph.events.hitbatch import collate_events
    from hepgraph.runs.load import load_run

    loaded = load_run(run)
    ds = open_dataset(data)
    b = collate_events([ds[i] for i in range(8)], loaded.features)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    torch.set_num_threads(1)
    names = [i.name for i in sess.get_inputs()]
    tensors = {"pos": b.pos, "feats": b.feats, "ptr": b.ptr, **b.hit}
    if "edge_index" in names:
        tensors["edge_index"] = loaded.model.edges(b)
    feed = {k: tensors[k].numpy() for k in names}
    pt, ox = [], []
    with torch.no_grad():
        loaded.model(b)
        sess.run(["out"], feed)
        for _ in range(reps):
            t0 = time.perf_counter()
            loaded.model(b)
            pt.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sess.run(["out"], feed)
            ox.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(pt)), 1e3 * float(np.median(ox))


if __name__ == "__main__":
    main()
