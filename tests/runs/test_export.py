from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .conftest import TOY_MODEL

runner = CliRunner()

MODELS = [
    (TOY_MODEL, [], "segmentation"),
    ("dense-resnet18", ["--set", "model.image_shape=[16,16]", "--set", "model.base_channels=8"], "classification"),
    ("gravnet", ["--set", "model.hidden_channels=8"], "segmentation"),
    ("point-transformer", ["--set", "model.hidden_channels=8"], "classification"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("model", "extra", "task"), MODELS, ids=[m for m, _, _ in MODELS])
def test_export_matches_pytorch(toy_data, tmp_path, model, extra, task):
    if ":" not in model:
        from hepgraph.registry import MODELS as REG

        import hepgraph.models  # noqa: F401

        if model not in REG:
            pytest.skip(f"{model} not in the model zoo yet")
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--model", model, "--data", str(toy_data), "--out", str(run),
                              "--task", task, "--epochs", "1", "--device", "cpu",
                              "--set", "train.max_steps_per_epoch=2", *extra])
    assert res.exit_code == 0, res.output
    for fmt in ("onnx", "torchscript"):
        out = tmp_path / f"model.{fmt}"
        res = runner.invoke(app, ["export", str(run), "--format", fmt, "--out", str(out), "--data", str(toy_data)])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 1000 and "max |diff|" in res.output


def test_export_unknown_format(tmp_path):
    res = runner.invoke(app, ["export", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and "unknown export format `tflite`" in res.output
