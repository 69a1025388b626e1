"""Export: ONNX/TorchScript with dynamic sizes, checked independently on new batch sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.events.hitbatch import collate_events
from hepgraph.runs.load import load_run

runner = CliRunner()
SMALL = ["--set", "model.hidden_channels=8"]

# (model, extra train args, task): one per family that exports, plus edge input and hit level
MODELS = [
    ("mlp", [*SMALL, "--set", "model.num_layers=2"], "classification"),
    ("small-cnn", [], "classification"),
    ("dense-resnet18", ["--set", "model.image_shape=[16,16]", "--set", "model.base_channels=8"],
     "segmentation"),
    ("edgeconv", SMALL, "classification"),
    ("gravnet", [*SMALL, "--set", "model.num_layers=2"], "segmentation"),
    ("point-transformer", [*SMALL, "--targets", "px,py"], "regression"),
    ("gatv2", SMALL, "segmentation"),
]


def train(toy_data, tmp_path, model, extra, task, name="run"):
    run = tmp_path / name
    res = runner.invoke(app, ["train", "--model", model, "--data", str(toy_data), "--out", str(run),
                              "--task", task, "--epochs", "1", "--device", "cpu", "--batch-size", "4",
                              "--set", "train.max_steps_per_epoch=1", *extra])
    assert res.exit_code == 0, res.output
    return run


def new_batches(toy_data, loaded, sizes=(3, 1, 5), start=40):
    """Batches of event counts the export never saw (independent of the export's own check)."""
    from hepgraph import open_dataset

    ds = open_dataset(toy_data)
    out, i = [], start
    for n in sizes:
        out.append(collate_events([ds[j] for j in range(i, i + n)], loaded.features))
        i += n
    return out


def feed(loaded, b, inputs):
    tensors = {"pos": b.pos, "feats": b.feats, "ptr": b.ptr, **b.hit}
    if "edge_index" in inputs:
        tensors["edge_index"] = loaded.model.edges(b)
    return {k: tensors[k].numpy() for k in inputs}


@pytest.mark.slow
@pytest.mark.parametrize(("model", "extra", "task"), MODELS, ids=[m for m, _, _ in MODELS])
def test_onnx_runs_any_batch_size_in_onnxruntime(toy_data, tmp_path, model, extra, task):
    ort = pytest.importorskip("onnxruntime")
    from hepgraph.runs.onnx_export import read_metadata

    run = train(toy_data, tmp_path, model, extra, task)
    out = tmp_path / "m.onnx"
    res = runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 batches" in res.output
    loaded = load_run(run)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = [i.name for i in sess.get_inputs()]
    meta = read_metadata(out)
    assert meta["model"] == model and meta["inputs"] == ",".join(inputs)
    rows = set()
    for b in new_batches(toy_data, loaded):
        got = sess.run(["out"], feed(loaded, b, inputs))[0]
        with torch.no_grad():
            ref = loaded.model(b)["out"].numpy()
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)
        rows.add(got.shape[0])
    assert len(rows) == 3  # three different numbers of output rows (events, hits or edges)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "extra", "task"), [MODELS[0], MODELS[3]], ids=["mlp", "edgeconv"])
def test_torchscript_runs_any_batch_size(toy_data, tmp_path, model, extra, task):
    run = train(toy_data, tmp_path, model, extra, task)
    out = tmp_path / "m.pt"
    res = runner.invoke(app, ["export", str(run), "--format", "torchscript", "--out", str(out)])
    assert res.exit_code == 0, res.output
    loaded = load_run(run)
    mod = torch.jit.load(str(out))
    for b in new_batches(toy_data, loaded):
        with torch.no_grad():
            np.testing.assert_allclose(mod(b.pos, b.feats, b.ptr).numpy(), loaded.model(b)["out"].numpy(),
                                       atol=1e-5)


@pytest.mark.slow
def test_layers_graph_exports_with_layer_and_edges_as_inputs(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import hepgraph.sources  # noqa: F401
    from hepgraph import open_dataset
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset

    data = build_dataset(SOURCES.get("sim-drift-chamber")(seed=3), tmp_path / "dc", max_events=16)
    run = train(data, tmp_path, "interaction-network", SMALL, "edge-classification")
    out = tmp_path / "in.onnx"
    res = runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(out),
                              "--data", str(data)])
    assert res.exit_code == 0, res.output
    assert "edge_index" in res.output and "per edge" in res.output
    loaded = load_run(run)
    ds = open_dataset(data)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = [i.name for i in sess.get_inputs()]
    for idx in ([9], [10, 11, 12]):
        b = collate_events([ds[i] for i in idx], loaded.features)
        got = sess.run(["out"], feed(loaded, b, inputs))[0]
        with torch.no_grad():
            ref = loaded.model(b)["out"].numpy()
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)
    # without --data the check batches are synthetic, with a synthetic `layer` column
    res = runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "s.onnx")])
    assert res.exit_code == 0, res.output


@pytest.mark.slow
def test_sparse_refused_overwrite_and_own_checkpoint(toy_data, tmp_path):
    run = train(toy_data, tmp_path, "mlp", [*SMALL, "--set", "model.num_layers=1"], "classification")
    out = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(out)]).exit_code == 0
    before = out.read_bytes()
    res = runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output and out.read_bytes() == before
    res = runner.invoke(app, ["export", str(run), "--format", "torchscript", "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() != before
    ckpt = run / "checkpoints" / "best.pt"
    size = ckpt.stat().st_size
    for target in (ckpt, run / "checkpoints" / "model.onnx"):
        res = runner.invoke(app, ["export", str(run), "--format", "onnx", "--out", str(target), "--overwrite"])
        assert res.exit_code == 2 and "checkpoints" in res.output
    assert ckpt.stat().st_size == size
    assert not [p for p in tmp_path.rglob(".*tmp*")]  # nothing half-written left behind
    sparse = train(toy_data, tmp_path, "sparse-resnet18", ["--set", "model.base_channels=4"],
                   "classification", "sparse")
    for fmt in ("onnx", "torchscript"):
        res = runner.invoke(app, ["export", str(sparse), "--format", fmt, "--out", str(tmp_path / f"s.{fmt}")])
        assert res.exit_code == 2 and "cannot be exported" in res.output and "kernel maps" in res.output
        assert len(res.output.strip().splitlines()) == 1
        assert not (tmp_path / f"s.{fmt}").exists()


def test_export_unknown_format(tmp_path):
    res = runner.invoke(app, ["export", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and "unknown export format `tflite`" in res.output


def test_check_batches_differ_in_events_and_hits():
    from hepgraph.runs.export import batch_sizes

    assert batch_sizes(1) == (1, 2, 3)
    assert len(set(batch_sizes(4))) == 3
