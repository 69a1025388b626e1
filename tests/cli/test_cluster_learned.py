"""End to end: build a small drift-chamber dataset, train, cluster with the learned methods, score."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset

    root = tmp_path_factory.mktemp("learned")
    params = {"events": 12, "noise_rate": 0.0065, "tracks": {"mode": "fixed", "mean": 3}}
    src = SOURCES.get("sim-drift-chamber")(inputs=None, mapping=None, seed=3, params=params)
    data = build_dataset(src, root / "dc")
    common = ["train", "--model", "interaction-network", "--data", str(data), "--epochs", "1",
              "--batch-size", "4", "--device", "cpu", "--set", "model.hidden_channels=8",
              "--set", "model.num_iterations=1", "--set", "model.graph=knn", "--set", "model.graph_kwargs={k: 4}"]
    out = {}
    for task in ("edge-classification", "condensation"):
        run = root / task
        r = runner.invoke(app, [*common, "--task", task, "--out", str(run)])
        assert r.exit_code == 0, r.output
        out[task] = run
    return data, out


@pytest.mark.parametrize("mode", ["walk=true", "mode=chain"])
def test_gnn_end_to_end(runs, tmp_path, mode):
    data, run = runs
    out = tmp_path / "gnn.csv"
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "gnn", "--run",
                            str(run["edge-classification"]), "--set", mode, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.output)["metrics"]
    assert m["events"] == 12 and 0.0 <= m["trackml_score"] <= 1.0 and 0.0 <= m["efficiency"] <= 1.0
    assert (tmp_path / "gnn.metrics.json").is_file() and out.read_text().startswith('"event_id"')


def test_condensation_end_to_end(runs, tmp_path):
    data, run = runs
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "condensation", "--run",
                            str(run["condensation"]), "--out", str(tmp_path / "oc.parquet"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["metrics"]["events"] == 12


def test_run_of_another_task_is_refused(runs, tmp_path):
    data, run = runs
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "gnn", "--run",
                            str(run["condensation"]), "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2
    assert "trained for task `condensation`" in " ".join(r.output.split())
    assert not (tmp_path / "x.csv").exists()
