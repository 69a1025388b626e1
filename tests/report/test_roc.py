"""Classifier figures: rejection curve vs sklearn, counts and fractions, context in titles."""

from __future__ import annotations

import numpy as np
import pytest

import hepgraph.report.roc as roc
from hepgraph.report.roc import confusion_matrix_plot, rejection_curve, roc_plot


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions save (kept open for inspection)."""
    kept = []

    def keep(fig, path, dpi=None):
        kept.append(fig)
        return path

    monkeypatch.setattr(roc, "save_figure", keep)
    return kept


def test_rejection_curve_equals_sklearn_roc_points():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(1)
    y = rng.random(300) < 0.3
    s = np.round(rng.random(300) + 0.4 * y, 2)  # ties: many equal scores
    eff_s, eff_b = rejection_curve(y, s)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(eff_s, tpr[1:])  # sklearn starts at (0, 0)
    np.testing.assert_allclose(eff_b, fpr[1:])
    assert eff_s[-1] == 1.0 and eff_b[-1] == 1.0


def test_rejection_hand_computed():
    # scores 0.9 (sig), 0.8 (bkg), 0.7 (sig), 0.1 (bkg): cuts keep 1, 2, 3, 4 entries
    eff_s, eff_b = rejection_curve(np.array([1, 0, 1, 0], bool), np.array([0.9, 0.8, 0.7, 0.1]))
    assert eff_s.tolist() == [0.5, 0.5, 1.0, 1.0]
    assert eff_b.tolist() == [0.0, 0.5, 0.5, 1.0]


def test_confusion_matrix_shows_fraction_and_count(figures, tmp_path):
    cm = np.array([[3, 1], [0, 4]])
    confusion_matrix_plot(cm, ["e", "mu"], tmp_path / "cm.png", context="gravnet, test split, N = 8 events")
    ax = figures[0].axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.75\n3", "0.25\n1", "0.00\n0", "1.00\n4"]
    assert "gravnet" in ax.get_title() and "N = 8 events" in ax.get_title()
    assert ax.get_ylabel() == "true class" and ax.get_xlabel() == "predicted class"


def test_roc_has_rejection_panels_beside_it(figures, tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    p1 = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.2, 200), 0, 1)
    roc_plot(y, np.stack([1 - p1, p1], 1), ["bkg", "sig"], tmp_path / "roc.png", context="m, val split")
    a, b, c = figures[0].axes
    assert "signal efficiency" in b.get_xlabel() and "1 - $\\varepsilon_B$" in b.get_ylabel()
    assert c.get_yscale() == "log" and "1 / $\\varepsilon_B$" in c.get_ylabel()
    assert all(ax.get_ylabel() and "val split" in ax.get_title() for ax in (a, b, c))
    x, r = c.lines[0].get_data()
    assert np.all(r >= 1) and np.all(np.isfinite(r))  # 1/eps_B, eps_B = 0 points dropped


def test_roc_of_one_class_draws_without_warnings(figures, tmp_path):
    """Events of one class only have no ROC curve: the figure is written, with no matplotlib
    'No artists with labels' warning in front of the user."""
    import warnings

    p1 = np.linspace(0.1, 0.9, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roc_plot(np.zeros(20, np.int64), np.stack([1 - p1, p1], 1), ["a", "b"], tmp_path / "roc.png")
    a, b, c = figures[0].axes
    assert a.get_legend() is not None and b.get_legend() is None and not b.lines
