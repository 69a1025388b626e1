from __future__ import annotations

import math

import numpy as np
import pytest

from hepgraph.errors import DataError
from hepgraph.metrics.edges import (
    edge_classification_metrics,
    edge_truth,
    graph_construction_metrics,
    resolution_vs,
    truth_segments,
)

# two particles of 3 hits, one noise hit; r orders the hits along each track
TRUTH = np.array([1, 1, 1, 2, 2, 2, -1])
R = np.array([30.0, 10.0, 20.0, 10.0, 20.0, 30.0, 15.0])


def test_truth_segments_follow_order():
    seg = truth_segments(TRUTH, R)
    pairs = {tuple(sorted(p)) for p in seg.T.tolist()}
    assert pairs == {(1, 2), (0, 2), (3, 4), (4, 5)}


def test_graph_construction_counts():
    # 3 of 4 segments present (one reversed), one fake edge to noise, one cross-particle edge
    e = np.array([[1, 2, 4, 0, 0], [2, 0, 3, 6, 3]])
    m = graph_construction_metrics(e, TRUTH, R)
    assert m["edge_efficiency"] == 0.75
    assert m["edge_purity"] == pytest.approx(3 / 5)
    assert edge_truth(e, TRUTH).tolist() == [True, True, True, False, False]


def test_edge_classification():
    e = np.array([[1, 2, 4, 0, 0], [2, 0, 3, 6, 3]])
    s = np.array([0.9, 0.2, 0.8, 0.7, 0.1])
    m = edge_classification_metrics(e, s, TRUTH, threshold=0.5)
    assert m["edge_efficiency"] == pytest.approx(2 / 3)
    assert m["edge_purity"] == pytest.approx(2 / 3)
    with pytest.raises(DataError, match="scores"):
        edge_classification_metrics(e, s[:2], TRUTH)


def test_resolution_bins():
    true = np.array([1.0, 1.0, 1.0, 10.0, 10.0])
    fit = np.array([1.1, 0.9, 1.0, 10.0, 10.0])
    r = resolution_vs(true, fit, [0.5, 2.0, 20.0, 50.0])
    assert r["count"].tolist() == [3, 2, 0]
    assert r["bias"][0] == pytest.approx(0.0) and r["sigma"][1] == 0.0
    assert r["sigma"][0] == pytest.approx(0.5 * (np.quantile([-0.1, 0, 0.1], 0.84) - np.quantile([-0.1, 0, 0.1], 0.16)))
    assert math.isnan(r["sigma"][2])
