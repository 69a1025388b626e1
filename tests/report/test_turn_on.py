from __future__ import annotations

import numpy as np

from hepgraph.report.plots import plot_task
from hepgraph.tasks.binned import BinnedRegressionTask


def test_plot_task_draws_turn_on_confusion_and_regression(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.uniform(1, 50, 400)
    task = BinnedRegressionTask(target="pt", bins=10, spacing="log", bin_range=[1.0, 50.0], threshold=10.0)
    task.fit({"pt": y})
    value = y * np.exp(rng.normal(0, 0.2, y.size))
    k = task.out_channels
    probs = np.eye(k)[np.digitize(value, task.edges.numpy()[1:-1])]
    acc = {"y": y, "value": value, "probs": probs}
    m = task.metrics(acc)
    assert 5.0 < m["turn_on_50"] < 15.0
    names = [p.name for p in plot_task(task, acc, m, tmp_path)]
    assert names[:2] == ["pt_turn_on.png", "pt_bin_confusion.png"]
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)
