from __future__ import annotations

import numpy as np

from hepgraph.report.turn_on import turn_on_plot
from hepgraph.tasks.binned import BinnedRegressionTask


def _fitted():
    rng = np.random.default_rng(1)
    y = rng.uniform(1, 50, 400)
    task = BinnedRegressionTask(target="pt", bins=10, spacing="log", bin_range=[1.0, 50.0], threshold=10.0)
    task.fit({"pt": y})
    value = y * np.exp(rng.normal(0, 0.2, y.size))
    probs = np.eye(task.out_channels)[np.digitize(value, task.edges.numpy()[1:-1])]
    return task, {"y": y, "value": value, "probs": probs}


def test_turn_on_plot_writes_a_png(tmp_path):
    task, acc = _fitted()
    m = task.metrics(acc)
    assert 5.0 < m["turn_on_50"] < 15.0
    path = turn_on_plot(m["turn_on"], m["threshold"], tmp_path / "t.png", "pt", "GeV", "mlp", m["turn_on_50"])
    assert path.stat().st_size > 1000


def test_plot_task_draws_turn_on_confusion_and_regression(tmp_path, monkeypatch):
    import hepgraph.report.plots as plots
    import hepgraph.report.turn_on as turn_on

    titles = []

    def keep(fig, path, dpi=None):
        titles.append((path.name, fig.axes[0].get_title(), fig.axes[0].get_ylabel()))
        plots.pyplot().close(fig)
        return path

    monkeypatch.setattr(plots, "save_figure", keep)
    monkeypatch.setattr(turn_on, "save_figure", keep)
    task, acc = _fitted()
    m = task.metrics(acc)
    names = [p.name for p in plots.plot_task(task, acc, {**m, "model": "mlp", "split": "test", "events": 400},
                                              tmp_path)]
    assert names[:2] == ["pt_turn_on.png", "pt_bin_confusion.png"] and "pt_residuals.png" in names
    assert all("mlp, test split, N = 400 events" in t and y for _, t, y in titles)
