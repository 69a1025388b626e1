"""SIGKILL a training subprocess mid-epoch, resume it, compare with an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import TOY_MODEL

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KEYS_IGNORED = {"train_time_s", "events_per_s", "loader_fraction", "loader_fraction_steady"}  # timings


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hepgraph", "train", *args]


def _env(site: Path) -> dict[str, str]:
    """PYTHONPATH with the toy model installed as a ``hepgraph.plugins`` entry point."""
    from hg_train_toy import write_plugin_dist

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), str(write_plugin_dist(site)),
                                         env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return env


def _records(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in KEYS_IGNORED} for x in lines]


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted(toy_data, tmp_path):
    common = ["--model", TOY_MODEL, "--data", str(toy_data), "--task", "regression", "--targets", "px,py",
              "--epochs", "4", "--batch-size", "2", "--lr", "0.01", "--device", "cpu",
              "--set", "train.scheduler=onecycle", "--set", "model.hidden_channels=64",
              "--set", "model.delay=0.03"]  # >= 0.6 s per epoch (20 steps)
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run(_cmd(*common, "--out", str(full)), env=_env(tmp_path / "site"), check=True, capture_output=True)
    proc = subprocess.Popen(_cmd(*common, "--out", str(killed)), env=_env(tmp_path / "site"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = killed / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 1:
            break
        time.sleep(0.01)
    time.sleep(0.25)  # into the second epoch
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(metrics.read_text().splitlines())
    assert 1 <= done < 4, "the run was not killed mid-training"
    res = subprocess.run(_cmd("--resume", str(killed)), env=_env(tmp_path / "site"), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert _records(killed) == _records(full)


@pytest.mark.slow
def test_resume_after_the_dataset_moved(toy_data, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from hepgraph.cli.main import app
    from tests.reliability.helpers import one_line_exit2

    runner = CliRunner()
    data, run = tmp_path / "data", tmp_path / "run"
    shutil.copytree(toy_data, data)
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(data), "--out", str(run), "--epochs", "1",
                              "--device", "cpu", "--set", "train.max_steps_per_epoch=2"])
    assert res.exit_code == 0, res.output
    moved = data.rename(tmp_path / "moved")
    one_line_exit2(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2"]),
                   f"the run's training dataset `{data}` does not exist; if it moved, give its new place with --data DIR")
    other = tmp_path / "other"
    shutil.copytree(moved, other)
    manifest = json.loads((other / "_manifest.json").read_text())
    manifest["seed"] = 12345
    (other / "_manifest.json").write_text(json.dumps(manifest))
    one_line_exit2(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2", "--data", str(other)]),
                   "is not the one this run trained on")
    res = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2", "--data", str(moved)])
    assert res.exit_code == 0, res.output
    assert [r["epoch"] for r in _records(run)] == [1, 2]
    one_line_exit2(runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3", "--lr", "0.1"]),
                   "only --epochs (and --data, the same dataset moved) may change (got train.lr)")
