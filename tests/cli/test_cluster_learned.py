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
                            str(run["edge-classification"]), "--set", mode, "--out", str(out), "--json",
                            "--split", "all"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.output)["metrics"]
    assert m["events"] == 12 and 0.0 <= m["trackml_score"] <= 1.0 and 0.0 <= m["efficiency"] <= 1.0
    assert (tmp_path / "gnn.metrics.json").is_file() and out.read_text().startswith('"event_id"')


def test_condensation_end_to_end(runs, tmp_path):
    data, run = runs
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "condensation", "--run",
                            str(run["condensation"]), "--out", str(tmp_path / "oc.parquet"), "--json",
                            "--split", "all"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["metrics"]["events"] == 12


def test_run_of_another_task_is_refused(runs, tmp_path):
    data, run = runs
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "gnn", "--run",
                            str(run["condensation"]), "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2
    assert "trained for task `condensation`" in " ".join(r.output.split())
    assert not (tmp_path / "x.csv").exists()


def test_tracking_gnn_recipe_end_to_end(tmp_path):
    """train --config tracking-gnn learns its graph, chooses its track building on val, and
    cluster --run uses both; on a forward telescope nobody configured."""
    import yaml

    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset

    src = SOURCES.get("sim-forward-planes")(seed=5, params={"events": 30, "tracks_per_collision": 6})
    data = build_dataset(src, tmp_path / "fwd")
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--config", "tracking-gnn", "--data", str(data), "--out", str(run),
                            "--epochs", "1", "--device", "cpu", "--set", "model.hidden_channels=8",
                            "--set", "model.num_iterations=1", "--set", "task.calibrate_events=3"])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load((run / "cluster.yaml").read_text())
    assert doc["method"] == "gnn" and doc["options"]["mode"] in ("triplets", "chain", "walk", "components")
    g = doc["graph"]
    assert 0.9 < g["edge_efficiency"] <= 1.0 and 0.0 < g["edge_purity"] <= 1.0 and g["edges_per_hit"] > 0
    out = tmp_path / "gnn.parquet"
    r = runner.invoke(app, ["cluster", "--data", str(data), "--method", "gnn", "--run", str(run), "--out", str(out),
                            "--json", "--split", "all"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert f"mode={doc['options']['mode']!r}" in rep["clusterer"]
    assert rep["events"] == 30 and 0.0 <= rep["metrics"]["efficiency"] <= 1.0
