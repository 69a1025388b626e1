"""--logger csv|tensorboard: the files are read back and hold the epoch records; provenance."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.errors import ConfigError, MissingDependencyError
from hepgraph.train.loggers import CSVLogger, make_logger

from .conftest import TOY_MODEL

runner = CliRunner()


def _train(data, out, *extra):
    return runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(data), "--out", str(out),
                               "--device", "cpu", "--task", "classification", "--batch-size", "8",
                               "--set", "train.max_steps_per_epoch=3", *extra])


def _records(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_csv_logger_drops_rows_after_the_resumed_epoch(tmp_path):
    path = tmp_path / "m.csv"
    log = CSVLogger(path)
    for e in (1, 2, 3):
        log.on_epoch_start(e, 3, 1)
        log.on_epoch_end({"epoch": e, "train_loss": 1.0 / e, "best": None, "cm": [[1]]})
    again = CSVLogger(path)  # resumed from the checkpoint of epoch 2
    again.on_epoch_start(3, 4, 1)
    again.on_epoch_end({"epoch": 3, "train_loss": 0.3, "val_auc": 0.9})
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert rows[2]["train_loss"] == "0.3" and rows[2]["val_auc"] == "0.9" and rows[0]["val_auc"] == ""
    assert "cm" not in rows[0]  # lists are not scalars


def test_unknown_logger_and_missing_tensorboard(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="none, csv, tensorboard"):
        make_logger("wandb", tmp_path)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "tensorboard" else real(n, *a))
    with pytest.raises(MissingDependencyError, match=r"hepgraph\[tensorboard\]"):
        make_logger("tensorboard", tmp_path)


@pytest.mark.slow
def test_train_csv_logger_and_provenance(toy_data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setattr("sys.argv", ["/venv/bin/hepgraph", "train", "--logger", "csv"])  # as the shell gives it
    res = _train(toy_data, run, "--epochs", "2", "--logger", "csv")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    recs = _records(run)
    assert len(rows) == 2
    for row, rec in zip(rows, recs):
        assert int(row["epoch"]) == rec["epoch"]
        assert float(row["train_loss"]) == pytest.approx(rec["train_loss"])
        assert float(row["val_accuracy"]) == pytest.approx(rec["val_accuracy"])
    prov = json.loads((run / "provenance.json").read_text())["sessions"]
    assert len(prov) == 1
    s = prov[0]
    assert s["command"] == "hepgraph train --logger csv" and s["packages"]["torch"] and s["machine"]["cpus"] >= 1
    assert s["git"] is None or len(s["git"]["commit"]) == 40
    # best.json and the end-of-training line name the best checkpoint and its metrics
    best = json.loads((run / "best.json").read_text())
    assert best["checkpoint"].endswith("checkpoints/best.pt") and best["metric"] == "val_accuracy"
    text = " ".join(res.output.split())
    assert "best epoch" in text and "checkpoints/best.pt" in text and "weights only" in text
    # resumed with more epochs: the CSV goes on, provenance gets a second session
    res = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3"])
    assert res.exit_code == 0, res.output
    assert [r["epoch"] for r in csv.DictReader((run / "metrics.csv").open())] == ["1", "2", "3"]
    assert len(json.loads((run / "provenance.json").read_text())["sessions"]) == 2


@pytest.mark.slow
def test_train_tensorboard_events_read_back(toy_data, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    res = _train(toy_data, run, "--epochs", "2", "--logger", "tensorboard")
    assert res.exit_code == 0, res.output
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "train/loss_epoch", "val/loss", "val/accuracy"} <= set(tags)
    recs = _records(run)
    val = acc.Scalars("val/accuracy")
    assert [e.step for e in val] == [r["step"] for r in recs]
    assert [e.value for e in val] == pytest.approx([r["val_accuracy"] for r in recs], rel=1e-6)
    assert len(acc.Scalars("train/loss")) == recs[-1]["step"]  # one per step
