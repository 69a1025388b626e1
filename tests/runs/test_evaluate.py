from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .conftest import TOY_MODEL

runner = CliRunner()

PLOTS = {
    "classification": ({"confusion_matrix.png", "roc.png"}, []),
    "track-count": ({"confusion_matrix.png", "roc.png", "roc_pairs.png"}, []),   # 4 classes: pair ROC too
    "regression": ({f"{t}_{k}.png" for t in ("px", "py") for k in
                    ("residuals", "pulls", "bias_resolution", "pred_vs_true", "sigma_calibration")},
                   ["--targets", "px,py"]),
    "segmentation": ({"per_class.png", "confusion_matrix.png"}, []),
    "edge-classification": ({"edge_roc.png", "edge_efficiency_purity.png"}, []),
    "condensation": ({"beta.png"}, []),
}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(PLOTS))
def test_evaluate_writes_metrics_and_plots(toy_data, tmp_path, task):
    plots, extra = PLOTS[task]
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                              "--task", task, "--epochs", "1", "--device", "cpu", *extra])
    assert res.exit_code == 0, res.output
    rep = tmp_path / "rep"
    res = runner.invoke(app, ["evaluate", str(run), "--data", str(toy_data), "--out", str(rep),
                              "--split", "test", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    m = json.loads((rep / "metrics.json").read_text())
    assert m["task"] == task and m["events"] > 0 and m["loss"] > 0
    assert set(m["plots"]) == plots
    if "roc_pairs.png" in plots:
        k = len(m["class_names"])
        assert k >= 3 and len(m["auc_per_pair"]) == k * (k - 1) // 2
    for p in plots:
        assert (rep / p).stat().st_size > 2000, p  # a real PNG, not an empty canvas
        assert (rep / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # existing report without --overwrite: one line, exit 2
    res = runner.invoke(app, ["evaluate", str(run), "--data", str(toy_data), "--out", str(rep)])
    assert res.exit_code == 2


def test_evaluate_on_non_run_dir(tmp_path, toy_data):
    res = runner.invoke(app, ["evaluate", str(tmp_path), "--data", str(toy_data), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "not a hepgraph run directory" in res.output
