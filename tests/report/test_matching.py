"""Cluster colours follow the matched truth particle, on a hand-built event."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import ConfigError
from hepgraph.report.matching import GREY, NOISE, match_clusters, predicted_colors, species, truth_colors

# 14 hits: particle 7 (6 hits, a mu-), particle 3 (5 hits, a pi+), noise (3 hits)
TRUTH = np.array([7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, -1, -1, -1])
# cluster 0 = most of particle 3, cluster 1 = first half of particle 7, cluster 2 = its
# second half (a split), cluster 5 = noise only, one hit unassigned
PRED = np.array([1, 1, 1, 2, 2, 2, 0, 0, 0, 0, -1, 5, 5, 5])
PDG = {7: 13, 3: 211}


def test_hungarian_is_one_to_one_and_majority_many_to_one():
    assert match_clusters(TRUTH, PRED, "hungarian") in ({0: 3, 1: 7}, {0: 3, 2: 7})
    assert match_clusters(TRUTH, PRED, "majority") == {0: 3, 1: 7, 2: 7}


def test_cluster_number_is_not_the_particle_id():
    # cluster 3 holds particle 7's hits; particle 3 has nothing to do with it
    t = np.array([7, 7, 7, 3, 3])
    p = np.array([3, 3, 3, 7, 7])
    assert match_clusters(t, p) == {3: 7, 7: 3}
    legend, lut = truth_colors(t, PDG)
    pred = predicted_colors(t, p, lut, PDG)
    assert np.array_equal(pred.colors, legend.colors)  # same colours as the truth panel
    assert pred.entries[0][0] == "-> 7 mu- (3 hits)"


def test_cluster_needs_a_majority_of_its_hits():
    # 2 of the cluster's 5 hits come from particle 1: not matched
    assert match_clusters(np.array([1, 1, -1, -1, -1]), np.zeros(5, int)) == {}


def test_colours_of_the_hand_built_event():
    legend, lut = truth_colors(TRUTH, PDG)
    assert [e[0] for e in legend.entries] == ["7 mu- (6 hits)", "3 pi+ (5 hits)", "noise"]
    pred = predicted_colors(TRUTH, PRED, lut, PDG, method="majority")
    c = pred.colors
    assert np.allclose(c[6:10], lut[3]) and np.allclose(c[0:6], lut[7])  # split halves: one colour
    assert np.allclose(c[11:], GREY)  # the noise cluster matches nothing
    assert np.allclose(c[10], NOISE)  # unassigned hit
    pred = predicted_colors(TRUTH, PRED, lut, PDG, method="hungarian")
    matched = [i for i in (1, 2) if np.allclose(pred.colors[PRED == i], lut[7])]
    assert len(matched) == 1  # one half keeps the colour, the other fragment is grey
    assert np.allclose(pred.colors[PRED == 3 - matched[0]], GREY)
    labels = [e[0] for e in pred.entries]
    assert "-> 7 mu- (3 hits)" in labels and "-> 3 pi+ (4 hits)" in labels
    assert "2 unmatched clusters" in labels and "unassigned" in labels


def test_dense_event_legend_keeps_top_n():
    t = np.repeat(np.arange(300), np.arange(300) % 7 + 1)  # 300 particles
    legend, lut = truth_colors(t, None, top=12)
    assert len(lut) == 12 and legend.entries[-1][0] == "288 other particles"
    assert len(legend.entries) == 13
    grey = np.all(np.isclose(legend.colors, GREY), axis=1)
    assert grey.sum() == len(t) - sum(int((t == k).sum()) for k in lut)


def test_species_and_bad_method():
    assert species(13) == "mu-" and species(2212) == "p" and species(None) == ""
    assert species(999999) == "pdg 999999"
    with pytest.raises(ConfigError, match="hungarian, majority"):
        match_clusters(TRUTH, PRED, "greedy")
