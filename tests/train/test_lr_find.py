"""LR range test: suggestion on a known curve, and end to end through --find-lr."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.errors import ConfigError
from hepgraph.train.lr_find import lr_schedule, suggest

from .conftest import TOY_MODEL


def test_schedule_is_geometric():
    lrs = lr_schedule(1e-6, 1e-2, 5)
    assert lrs == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3, 1e-2])
    with pytest.raises(ConfigError, match="start < end"):
        lr_schedule(1.0, 1e-3, 10)


def test_suggest_on_a_known_curve():
    lrs = np.logspace(-6, 0, 61)
    x = np.log10(lrs)
    loss = 2.0 - 1.5 / (1 + np.exp(-4 * (x + 3)))  # falls fastest at lr = 1e-3
    loss[x > -1] += 10 * (x[x > -1] + 1) ** 2  # diverges after 1e-1
    s = suggest(lrs, loss)
    assert s["steepest_lr"] == pytest.approx(1e-3, rel=0.3)
    assert 1e-2 <= s["min_loss_lr"] <= 1e-1


@pytest.mark.slow
def test_find_lr_cli(toy_data, tmp_path):
    out = tmp_path / "lr"
    res = CliRunner().invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(out),
                                   "--task", "classification", "--device", "cpu", "--batch-size", "8",
                                   "--find-lr", "--find-lr-steps", "30"])
    assert res.exit_code == 0, res.output
    assert "suggested --lr" in res.output
    rows = list(csv.DictReader((out / "lr_find.csv").open()))
    assert 6 <= len(rows) <= 30 and float(rows[0]["lr"]) == pytest.approx(1e-7)
    assert (out / "lr_find.png").stat().st_size > 5000
    assert not (out / "checkpoints").exists()  # nothing trained for real
