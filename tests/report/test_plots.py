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


def test_every_task_plot_has_y_labels_and_context(tmp_path, monkeypatch):
    """Each figure of plot_task: y label on every axes, model, split and N in every title."""
    import hepgraph.report.plots as plots
    import hepgraph.report.roc as roc
    from hepgraph.tasks.edges import EdgeClassificationTask
    from hepgraph.tasks.regression import RegressionTask
    from hepgraph.tasks.segmentation import SegmentationTask

    figs = []

    def keep(fig, path, dpi=None):
        figs.append(fig)
        return path

    monkeypatch.setattr(plots, "save_figure", keep)
    monkeypatch.setattr(roc, "save_figure", keep)
    rng = np.random.default_rng(0)
    y, probs = _three_class()
    meta = {"model": "gravnet", "split": "test", "events": 60}
    cls = ClassificationTask(num_classes=3, class_names=["a", "b", "c"])
    plot_task(cls, {"y": y, "probs": probs}, {**meta, **cls.metrics({"y": y, "probs": probs})}, tmp_path)
    reg = RegressionTask(targets=["p"])
    t = rng.normal(5, 1, 60)
    plot_task(reg, {"y": t[:, None], "mean": (t + rng.normal(0, .1, 60))[:, None],
                    "sigma": np.full((60, 1), 0.1)}, meta, tmp_path)
    seg = SegmentationTask(num_classes=3, class_names=["x", "y", "z"])
    hy, hp = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    plot_task(seg, {"y": hy, "pred": hp}, {**meta, **seg.metrics({"y": hy, "pred": hp})}, tmp_path)
    edge = EdgeClassificationTask()
    plot_task(edge, {"y": rng.random(400) < 0.4, "score": rng.random(400)}, meta, tmp_path)
    assert len(figs) == 3 + 5 + 2 + 2
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_ylabel(), ax.get_title()
            assert "gravnet, test split, N = " in ax.get_title()
    titles = " ".join(ax.get_title() for fig in figs for ax in fig.axes)
    assert "N = 500 hits (60 events)" in titles and "N = 400 edges (60 events)" in titles
    assert "[GeV]" in figs[3].axes[0].get_xlabel()
