from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from hg_train_toy import build_toy

    return build_toy(tmp_path_factory.mktemp("toy") / "ds", n_events=32)


def test_compare_cli_end_to_end(toy, tmp_path):
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, [
        "compare", "--data", str(toy), "--models", "a=mlp,b=mlp", "--epochs", "1", "--device", "cpu",
        "--batch-size", "8", "--out", str(out),
        "--model-set", "a.hidden_channels=8", "--model-set", "a.num_layers=1",
        "--model-set", "b.hidden_channels=16", "--model-set", "b.num_layers=2"])
    assert r.exit_code == 0, r.output
    js = json.loads((out / "comparison.json").read_text())
    assert [m["model"] for m in js["models"]] == ["a", "b"]
    assert [m["architecture"] for m in js["models"]] == ["mlp", "mlp"]
    # different options -> different sizes, reported per label
    assert js["models"][0]["parameters"] < js["models"][1]["parameters"]
    assert (out / "comparison.md").is_file() and (out / "history.png").is_file()


def test_compare_cli_bad_inputs(toy, tmp_path):
    run = CliRunner().invoke
    r = run(app, ["compare", "--data", str(toy), "--out", str(tmp_path / "x"), "--epochs", "1"])
    assert r.exit_code == 2 and "--models" in r.output
    r = run(app, ["compare", "--data", str(toy), "--models", "mlp", "--out", str(tmp_path / "y"),
                  "--epochs", "1", "--model-set", "edgeconv.k=3"])
    assert r.exit_code == 2 and "`edgeconv`" in r.output
    r = run(app, ["compare", "--data", str(toy), "--models", "mlp", "--out", str(tmp_path / "z"),
                  "--epochs", "1", "--model-set", "nonsense"])
    assert r.exit_code == 2 and "MODEL.key=value" in r.output
    r = run(app, ["compare", "--data", str(toy), "--out", str(tmp_path / "w"), "--scan-voxel", "a,b"])
    assert r.exit_code == 2 and "--scan-voxel" in r.output


def test_scan_voxel_cli(toy, tmp_path):
    out = tmp_path / "scan"
    r = CliRunner().invoke(app, [
        "compare", "--data", str(toy), "--out", str(out), "--scan-voxel", "10,20", "--device", "cpu",
        "--scan-models", "dense-unet-3d,sparse-unet", "--set", "model.channels=[4,8]", "--batch-size", "4"])
    assert r.exit_code == 0, r.output
    scan = json.loads((out / "scan.json").read_text())
    v = [p["voxel_mm"] for p in scan["points"]]
    assert v == [20.0, 10.0]  # sorted coarse to fine
    # toy extent is 160 mm per axis
    assert [p["grid"] for p in scan["points"]] == [[8, 8, 8], [16, 16, 16]]
    for p in scan["points"]:
        assert p["sparse"]["seconds_per_event"] > 0 and p["dense"]["seconds_per_event"] > 0
    # finer voxels never merge more hits: occupied voxels per event grow
    assert scan["points"][1]["occupied_per_event"] >= scan["points"][0]["occupied_per_event"]
    assert (out / "scan.png").stat().st_size > 1000
