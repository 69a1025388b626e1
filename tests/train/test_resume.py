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
