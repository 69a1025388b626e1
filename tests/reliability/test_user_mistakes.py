"""User mistakes end in one line and exit status 2, never a traceback (issue 17)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .helpers import one_line_exit2

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("extra", "pattern"), [
    (["--set", "train.lr=nan"], "train.lr: `nan` is not a valid finite number"),
    (["--set", "train.epochs=1e9999"], "train.epochs: `inf` is not a valid int"),
    (["--seed", "-1"], "seed `-1` must be in [0, 2^63)"),
    (["--seed", "99999999999999999999999"], "must be in [0, 2^63)"),
    (["--set", "seed=abc"], "seed: `abc` is not a valid int"),
    (["--device", "bogus"], "train.device `bogus` is not valid"),
])
def test_bad_training_values(toy_data, tmp_path, extra, pattern):
    res = runner.invoke(app, ["train", "--model", "mlp", "--data", str(toy_data), "--out", str(tmp_path / "r"),
                              *extra])
    one_line_exit2(res, pattern)
    assert not (tmp_path / "r").exists()


def test_paths_of_the_wrong_kind(toy_data, toy_run, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    one_line_exit2(runner.invoke(app, ["train", "--model", "mlp", "--data", str(toy_data), "--out", str(f)]),
                   "is a file")
    one_line_exit2(runner.invoke(app, ["info", str(f)]), "is a file, not a dataset directory")
    one_line_exit2(runner.invoke(app, ["build-dataset", "--source", "sim-geiger-grid", "--events", "2",
                                       "--out", str(f / "sub")]), "in the way")
    one_line_exit2(runner.invoke(app, ["evaluate", str(toy_run), "--data", str(toy_data), "--out", str(f)]),
                   "exists")
    assert f.read_text() == "x"


def test_absurd_event_count_is_refused_at_once(tmp_path):
    res = runner.invoke(app, ["build-dataset", "--source", "sim-geiger-grid", "--events", "99999999999999999999",
                              "--out", str(tmp_path / "ds")])
    one_line_exit2(res, "more than one simulated dataset holds")


def test_compare_checks_every_model_name_before_training(toy_data, tmp_path):
    res = runner.invoke(app, ["compare", "--data", str(toy_data), "--out", str(tmp_path / "c"),
                              "--models", "mlp,bogus", "--epochs", "1"])
    one_line_exit2(res, "unknown model `bogus`")
    assert not (tmp_path / "c" / "models" / "mlp").exists()


def test_control_characters_from_files_are_shown_not_obeyed(toy_data, tmp_path):
    res = runner.invoke(app, ["train", "--model", "mlp", "--data", str(toy_data), "--out", str(tmp_path / "r"),
                              "--task", "\x1b[31mred"])
    err = one_line_exit2(res, "unknown task")
    assert "\x1b" not in err and "\\x1b" in err


@pytest.mark.slow
def test_sigterm_says_how_to_resume(toy_data, tmp_path):
    run = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "hepgraph", "train", "--model", "mlp", "--data", str(toy_data),
                             "--out", str(run), "--epochs", "500", "--device", "cpu"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600  # generous: a loaded CI box may take minutes to import torch and start
    while not (run / "checkpoints" / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert (run / "checkpoints" / "last.pt").exists(), "training never wrote its first checkpoint"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert f"terminated; continue with: hepgraph train --resume {run}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["abc", "nan", "-1"])
def test_cluster_option_values(toy_data, tmp_path, value):
    res = runner.invoke(app, ["cluster", "--data", str(toy_data), "--method", "dbscan", "--set", f"eps={value}",
                              "--out", str(tmp_path / "c.parquet")])
    one_line_exit2(res, "eps")
    assert not (tmp_path / "c.parquet").exists()


def test_show_needs_an_image_suffix_and_a_sane_dpi(toy_data, tmp_path):
    one_line_exit2(runner.invoke(app, ["show", str(toy_data), "--out", str(tmp_path / "x.txt")]),
                   "is not an image format")
    res = runner.invoke(app, ["show", str(toy_data), "--out", str(tmp_path / "x.png"), "--dpi", "100000"])
    assert res.exit_code == 2 and "Traceback" not in res.output and not (tmp_path / "x.png").exists()


def test_text_in_a_trackml_number_column(tmp_path):
    from tests.sources.test_trackml import HITS, write_event

    write_event(tmp_path / "ev", 1, gz=False)
    bad = HITS.replace("1.5,2.5", "abc,2.5")
    (tmp_path / "ev" / "event000000001-hits.csv").write_text(bad)
    res = runner.invoke(app, ["build-dataset", "--source", "trackml", "--input", str(tmp_path / "ev"),
                              "--out", str(tmp_path / "ds")])
    one_line_exit2(res, "column `x` holds text")
    assert not (tmp_path / "ds").exists()

