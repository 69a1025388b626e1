"""Loader columns: a run's batches carry only what its task and model read, and training on
them gives the same numbers as training on every column."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.errors import ConfigError
from hepgraph.models import create_model
from hepgraph.store.dataset import EventDataset
from hepgraph.runs.build import build_task, loader_columns
from hepgraph.runs.config import Component, validate

from .conftest import TOY_MODEL

runner = CliRunner()


@pytest.fixture(scope="module")
def manifest(toy_data):
    return EventDataset(toy_data).manifest


@pytest.mark.parametrize(("task", "kwargs", "expect"), [
    ("classification", {}, ["label"]),
    ("track-count", {"num_classes": 4}, ["n_tracks"]),
    ("regression", {"targets": "pz,px"}, ["px", "pz"]),
    ("segmentation", {}, ["hit_id", "semantic"]),
    ("edge-classification", {}, ["hit_id", "track_id"]),
    ("condensation", {}, ["hit_id", "track_id"]),
])
def test_task_columns(manifest, task, kwargs, expect):
    tk = build_task(Component(task, kwargs), manifest)
    name = "interaction-network" if tk.level == "edge" else "mlp"
    model = create_model(name, in_channels=1, level=tk.level, out_channels=tk.out_channels)
    assert sorted(loader_columns(tk, model, manifest)) == expect


def test_model_and_extra_columns(manifest):
    tk = build_task(Component("edge-classification", {}), manifest)
    net = create_model("interaction-network", in_channels=1, level="edge", out_channels=1, graph="layers")
    have = dict(manifest, columns={**manifest["columns"], "layer": manifest["columns"]["hit_id"]})
    assert "layer" in loader_columns(tk, net, have)
    knn = create_model("interaction-network", in_channels=1, level="edge", out_channels=1)
    assert "layer" not in loader_columns(tk, knn, have)
    assert loader_columns(tk, knn, manifest, "all") is None
    assert "particle_nhits" in loader_columns(tk, knn, manifest, ["particle_nhits"])
    with pytest.raises(ConfigError, match="data.columns: `nope` is not a column"):
        loader_columns(tk, knn, manifest, ["nope"])
    with pytest.raises(ConfigError, match="data.columns"):
        validate({"data": {"columns": 3}})


def _metrics(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("task", ["classification", "segmentation"])
def test_training_on_selected_columns_matches_all_columns(toy_data, tmp_path, task):
    runs = []
    for name, extra in (("sel", []), ("all", ["--set", "data.columns=all"])):
        res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--task", task,
                                  "--epochs", "2", "--batch-size", "8", "--device", "cpu",
                                  "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
        runs.append(_metrics(tmp_path / name))
    keys = [k for k in runs[0][-1] if k.startswith(("train_loss", "val_"))]
    assert "val_loss" in keys
    for a, b in zip(*runs):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
