"""Path refinement (cut at kinks, join through weaker edges) against hand-built tracks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hepgraph.cluster.graph import GNNClusterer
from hepgraph.cluster.paths import cut_kinks, join_paths, kink_angles
from hepgraph.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from _tracks import two_tracks_with_a_gap  # noqa: E402


def _line(start, step, n):
    return np.asarray(start, float) + np.arange(n)[:, None] * np.asarray(step, float)


def test_kink_angles_against_hand_computed_turns():
    # 0 -> 1 -> 2 straight along x, then 2 -> 3 turns by 90 degrees (to +y)
    pos = np.array([[0, 0, 0], [10, 0, 0], [20, 0, 0], [20, 10, 0]], float)
    hits, pair, ang = kink_angles(pos, np.array([[0, 1, 2], [1, 2, 3]]))
    assert hits.tolist() == [1, 2]
    np.testing.assert_allclose(ang, [0.0, np.pi / 2], atol=1e-12)
    assert pair.shape == (2, 2)
    # direction-free: the same path given end to start has the same kinks
    _, _, back = kink_angles(pos, np.array([[3, 2, 1], [2, 1, 0]]))
    np.testing.assert_allclose(np.sort(back), [0.0, np.pi / 2], atol=1e-12)


def test_helix_kinks_equal_the_turning_angle_per_step():
    # points on a circle of radius R every dphi: the chord turns by dphi at each point
    r, dphi = 500.0, 0.04
    phi = np.arange(8) * dphi
    pos = np.stack([r * np.cos(phi), r * np.sin(phi), 3.0 * np.arange(8)], 1)
    e = np.stack([np.arange(7), np.arange(1, 8)])
    _, _, ang = kink_angles(pos, e)
    # with a pitch, the turn of the 3D chord: angle between consecutive chords
    chords = np.diff(pos, axis=0)
    u = chords / np.linalg.norm(chords, axis=1, keepdims=True)
    np.testing.assert_allclose(ang, np.arccos((u[1:] * u[:-1]).sum(1)), atol=1e-9)
    assert np.all(ang < dphi * 1.001) and np.all(ang > 0.9 * dphi)


def test_cut_drops_the_weaker_edge_at_a_kink_only():
    # track A along x (hits 0-3) wrongly chained to hit 4 far off the line
    pos = np.vstack([_line([0, 0, 0], [10, 0, 0], 4), [[35, 20, 0]]])
    e = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])
    keep = cut_kinks(pos, e, np.array([0.9, 0.9, 0.9, 0.7]), kink_max=0.1)
    assert keep.tolist() == [True, True, True, False]
    assert cut_kinks(pos, e, np.ones(4), kink_max=1.4).all()  # the turn is atan(20/5) = 1.33 rad


def test_join_links_collinear_fragments_and_refuses_bends_cycles_and_branches():
    pos = _line([0, 0, 0], [10, 0, 1], 8)
    pos = np.vstack([pos, [[40, 30, 4]]])  # hit 8: beside hit 4, off the line
    frag = np.array([[0, 1, 2, 4, 5, 6], [1, 2, 3, 5, 6, 7]])  # 0-3 and 4-7, gap 3-4
    cand = np.array([[3, 3, 0, 2], [4, 8, 7, 5]])
    scores = np.array([0.2, 0.3, 0.25, 0.15])
    j = join_paths(pos, frag, cand, scores, kink_max=0.05)
    # 3-8 (best score) bends by ~1.25 rad at hit 3; 0-7 turns back (pi) at hit 0; 2-5: hit 2
    # already has two path edges
    assert j.T.tolist() == [[3, 4]]
    # a hit already with two edges takes no join
    assert join_paths(pos, frag, np.array([[1], [5]]), np.array([0.9]), kink_max=3.2).shape == (2, 0)
    # lone hits chain up: three lone collinear hits joined into one path
    lone = join_paths(pos[:3], np.zeros((2, 0), np.int64), np.array([[0, 1, 0], [1, 2, 2]]),
                      np.array([0.9, 0.8, 0.7]), kink_max=0.05)
    assert sorted(map(tuple, lone.T.tolist())) == [(0, 1), (1, 2)]  # 0-2 would close a cycle


def test_clusterer_cut_and_join_recover_both_tracks():
    ev, e, s = two_tracks_with_a_gap()
    plain = GNNClusterer(mode="chain", threshold=0.5, direction="edges", min_hits=3).cluster(
        ev, edge_index=e, scores=s)
    # without refinement A's first half runs through the noise hit into B's second half
    assert plain[3] == plain[16] == plain[12]
    ref = GNNClusterer(mode="chain", threshold=0.5, direction="edges", min_hits=3, kink_max=0.1,
                       join_threshold=0.1).cluster(ev, edge_index=e, scores=s)
    assert len(set(ref[:8])) == 1 and len(set(ref[8:16])) == 1 and ref[0] != ref[8]
    assert ref[16] == -1


@pytest.mark.parametrize("mode", ["walk", "triplets"])
def test_refinement_works_for_every_path_mode(mode):
    ev, e, s = two_tracks_with_a_gap()
    ref = GNNClusterer(mode=mode, threshold=0.5, min_hits=3, kink_max=0.1, join_threshold=0.1).cluster(
        ev, edge_index=e, scores=s)
    assert len(set(ref[:8])) == 1 and len(set(ref[8:16])) == 1 and ref[0] != ref[8]


def test_refinement_options_are_checked():
    with pytest.raises(ConfigError, match="needs `kink_max`"):
        GNNClusterer(mode="chain", join_threshold=0.2)
    with pytest.raises(ConfigError, match="components"):
        GNNClusterer(mode="components", kink_max=0.1)
    with pytest.raises(ConfigError, match="angle"):
        GNNClusterer(mode="chain", kink_max=0.0)
    with pytest.raises(ConfigError, match="probability"):
        GNNClusterer(mode="chain", kink_max=0.1, join_threshold=2.0)
