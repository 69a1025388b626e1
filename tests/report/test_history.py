"""History plot: integer epochs, y labels, the best epoch marked."""

from __future__ import annotations

import json

import pytest

import hepgraph.report.history as history
from hepgraph.errors import DataError


def test_history_plot_from_a_run_dir(tmp_path, monkeypatch):
    recs = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_auc": 0.5 + 0.1 * e,
             "train_events": 100} for e in (1, 2, 3)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (tmp_path / "best.json").write_text(json.dumps({"epoch": 3, "metric": "val_auc", "value": 0.8}))
    (tmp_path / "config.yaml").write_text("model: {name: gravnet}\n")
    figs = []
    monkeypatch.setattr(history, "save_figure", lambda fig, path: figs.append(fig) or path)
    assert history.history_plot(tmp_path) == tmp_path / "history.png"
    loss, auc = figs[0].axes
    assert loss.get_ylabel() == "loss" and auc.get_ylabel() == "auc (validation)"
    assert "gravnet" in auc.get_title() and "N = 100 events" in auc.get_title()
    figs[0].canvas.draw()
    assert all(float(t).is_integer() for t in loss.get_xticks())
    assert auc.lines[-1].get_xydata().tolist() == [[3.0, 0.8]]  # the best epoch marked
    with pytest.raises(DataError, match="no metrics.jsonl"):
        history.history_plot(tmp_path / "nope")
