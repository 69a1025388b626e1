"""End-to-end through the CLI on a tiny learnable dataset, for every task, plus bad input."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .conftest import TOY_MODEL

runner = CliRunner()

TASKS = [
    ("classification", []),
    ("regression", ["--targets", "px,py,pz"]),
    ("track-count", []),
    ("segmentation", []),
    ("edge-classification", []),
    ("condensation", []),
]


def _train(data, out, *extra):
    return runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(data), "--out", str(out),
                               "--device", "cpu", *extra])


def _records(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(("task", "extra"), TASKS, ids=[t for t, _ in TASKS])
def test_train_every_task_loss_goes_down(toy_data, tmp_path, task, extra):
    run = tmp_path / "run"
    res = _train(toy_data, run, "--task", task, "--epochs", "3", "--batch-size", "8", "--lr", "0.01", *extra)
    assert res.exit_code == 0, res.output
    recs = _records(run)
    assert [r["epoch"] for r in recs] == [1, 2, 3]
    assert recs[-1]["train_loss"] < recs[0]["train_loss"]
    assert "val_loss" in recs[-1]
    for f in ("config.yaml", "train.log", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / f).is_file(), f
    ck = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert ck["epoch"] == 3 and json.loads(ck["config"])["task"]["name"] == task
    assert "epoch 3/3" in (run / "train.log").read_text()


def test_config_yaml_set_and_scheduler(toy_data, tmp_path):
    cfgf = tmp_path / "exp.yaml"
    cfgf.write_text(f"model: {{name: '{TOY_MODEL}', hidden_channels: 8}}\n"
                    "task: classification\ntrain: {epochs: 2, batch_size: 8, optimizer: sgd}\n")
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--config", str(cfgf), "--data", str(toy_data), "--out", str(run),
                              "--set", "train.scheduler=cosine", "--set", "train.grad_clip=1.0"])
    assert res.exit_code == 0, res.output
    recs = _records(run)
    assert recs[1]["lr"] < recs[0]["lr"]  # cosine decays
    import yaml

    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["hidden_channels"] == 8 and resolved["train"]["optimizer"]["name"] == "sgd"
    assert resolved["task"]["class_names"] == ["low", "high"]


def test_hit_budget_every_event_every_epoch_and_schedule_fits(toy_data, tmp_path):
    """With train.max_batch_hits the batch count changes with the shuffle: the epoch is sized
    by the largest, so no epoch is cut short and onecycle (which refuses to step past its
    end) finishes."""
    from hepgraph.store import EventDataset, make_loader
    from hepgraph.train.trainer import epoch_seed

    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                              "--epochs", "4", "--batch-size", "8", "--set", "train.max_batch_hits=60",
                              "--set", "train.scheduler=onecycle"])
    assert res.exit_code == 0, res.output
    train = EventDataset(toy_data).split("train")
    loader = make_loader(train, 8, shuffle=True, max_hits=60, seed=epoch_seed(0, 0))  # as the run's
    lens = []
    for e in range(4):
        loader.sampler.set_epoch(e)
        lens.append(len(loader))
    assert min(lens) > -(-len(train) // 8)     # the budget binds (8 events would make 5 batches)
    recs = _records(run)
    assert [r["train_events"] for r in recs] == [len(train)] * 4
    assert recs[-1]["step"] == sum(lens)


def test_early_stopping_and_plateau(toy_data, tmp_path):
    run = tmp_path / "run"
    # lr so small nothing improves in accuracy -> stop after patience
    res = _train(toy_data, run, "--epochs", "6", "--lr", "1e-9", "--set", "train.early_stopping=1",
                 "--set", "train.scheduler={name: plateau, patience: 0}")
    assert res.exit_code == 0, res.output
    assert len(_records(run)) < 6


def _one_line_exit2(res, pattern):
    assert res.exit_code == 2, res.output
    err = res.stderr.strip() if hasattr(res, "stderr") else res.output.strip()
    assert len(err.splitlines()) == 1, err
    assert pattern in err, err


def test_bad_input_one_line_exit_2(toy_data, tmp_path):
    o = tmp_path / "x"
    _one_line_exit2(runner.invoke(app, ["train", "--model", "no-such-model", "--data", str(toy_data),
                                        "--out", str(o)]), "unknown model `no-such-model`")
    _one_line_exit2(_train(toy_data, o, "--task", "clasification"), "Did you mean `classification`")
    _one_line_exit2(_train(toy_data, o, "--task", "regression", "--targets", "energy"),
                    "unknown regression target `energy`; valid:")
    _one_line_exit2(_train(toy_data, o, "--set", "train.lrr=1"), "train.lrr: unknown key (did you mean lr?)")
    _one_line_exit2(_train(toy_data, o, "--set", "model.hiden=3"), "model.hiden: unknown key")
    _one_line_exit2(runner.invoke(app, ["train", "--resume", str(tmp_path)]), "is not a hepgraph run directory")
    assert not o.exists()


def test_task_without_labels_and_model_level(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import numpy as np

    from hepgraph.events import table_from_events, validate_table
    from hepgraph.sources.base import Source
    from hepgraph.store import build_dataset

    class Bare(Source):
        name = "bare"

        def config(self):
            return {}

        def plan(self, max_events=None):
            return [0]

        def read(self, task):
            evs = [{"event_id": i, "x": np.ones(3, np.float32), "y": np.ones(3, np.float32),
                    "z": np.ones(3, np.float32), "charge": np.ones(3, np.float32)} for i in range(8)]
            yield validate_table(table_from_events(evs))

    ds = build_dataset(Bare(), tmp_path / "bare")
    _one_line_exit2(_train(ds, tmp_path / "r", "--task", "segmentation"), "needs column(s) `semantic`")
    from hepgraph.registry import MODELS

    if "dense-resnet18" in MODELS:
        _one_line_exit2(runner.invoke(app, ["train", "--model", "dense-resnet18", "--data", str(ds),
                                            "--out", str(tmp_path / "r"), "--task", "edge-classification"]),
                        "needs column(s) `track_id`")


def test_model_without_task_level(toy_data, tmp_path):
    from hepgraph.registry import MODELS

    import hepgraph.models  # noqa: F401

    if "dense-resnet18" not in MODELS:
        pytest.skip("model zoo not merged")
    _one_line_exit2(runner.invoke(app, ["train", "--model", "dense-resnet18", "--data", str(toy_data),
                                        "--out", str(tmp_path / "r"), "--task", "edge-classification"]),
                    "needs `edge`; models that do")


def test_corrupt_checkpoint_resume(toy_data, tmp_path):
    run = tmp_path / "run"
    assert _train(toy_data, run, "--epochs", "1").exit_code == 0
    (run / "checkpoints" / "last.pt").write_bytes(b"garbage")
    _one_line_exit2(runner.invoke(app, ["train", "--resume", str(run)]), "is corrupt")
    _one_line_exit2(_train(toy_data, run, "--epochs", "1"), "exists and is not empty")


@pytest.mark.slow
def test_sparse_model_trains_under_bf16_autocast(toy_data, tmp_path):
    from hepgraph.registry import MODELS

    import hepgraph.models  # noqa: F401

    if "sparse-resnet18" not in MODELS:
        pytest.skip("sparse models not merged")
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--model", "sparse-resnet18", "--data", str(toy_data), "--out", str(run),
                              "--device", "cpu", "--amp", "--epochs", "1", "--batch-size", "4",
                              "--set", "train.max_steps_per_epoch=2", "--set", "model.base_channels=8"])
    assert res.exit_code == 0, res.output
    import yaml

    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["amp"] == "bf16"
    assert _records(run)[0]["train_loss"] > 0


def test_model_flag_swaps_the_config_model_block(tmp_path):
    from hepgraph.train import resolve

    cfgf = tmp_path / "exp.yaml"
    cfgf.write_text("model: {name: sparse-resnet18, base_channels: 8, voxel_size: 5.0, "
                    "extent: [[-1, 1], [-1, 1], [-1, 1]]}\ntask: classification\n")
    cfg = resolve(str(cfgf), {"model.name": "gravnet"}, ["model.k=4"])
    assert cfg.model.name == "gravnet"
    assert cfg.model.kwargs == {"extent": [[-1, 1], [-1, 1], [-1, 1]], "k": 4}  # sparse keys dropped
    cfg = resolve(str(cfgf), {"model.name": "sparse-resnet18"}, None)  # same model: block kept
    assert cfg.model.kwargs["base_channels"] == 8
