from __future__ import annotations

import numpy as np

from hepgraph.report.plots import plot_task, roc_pair_plot
from hepgraph.tasks.classification import ClassificationTask


def _three_class(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    return y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def test_roc_pair_plot_writes_a_png(tmp_path):
    y, probs = _three_class()
    path = roc_pair_plot(y, probs, ["a", "b", "c"], tmp_path / "pairs.png")
    assert path.stat().st_size > 1000
    # A pair with an empty class is skipped, not an error.
    path = roc_pair_plot(y[y < 2], probs[y < 2], ["a", "b", "c"], tmp_path / "two.png")
    assert path.is_file()


def test_plot_task_adds_pair_roc_for_three_or_more_classes(tmp_path):
    y, probs = _three_class()
    task = ClassificationTask(num_classes=3, class_names=["a", "b", "c"])
    acc = {"y": y, "probs": probs}
    names = [p.name for p in plot_task(task, acc, task.metrics(acc), tmp_path)]
    assert names == ["confusion_matrix.png", "roc.png", "roc_pairs.png"]
    two = ClassificationTask(num_classes=2)
    acc2 = {"y": y % 2, "probs": probs[:, :2] / probs[:, :2].sum(1, keepdims=True)}
    (tmp_path / "b").mkdir()
    names2 = [p.name for p in plot_task(two, acc2, two.metrics(acc2), tmp_path / "b")]
    assert "roc_pairs.png" not in names2
