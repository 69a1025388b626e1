from __future__ import annotations

import numpy as np
import pytest

from hepgraph.cluster.graph import GNNClusterer, chain_edges, connected_tracks, walk_edges
from hepgraph.errors import ConfigError, DataError

# track A: hits 0, 1, 2 at r = 100, 200, 300; track B: hits 3, 4, 5 at r = 100, 200, 300;
# hit 6 noise. A fake edge 1 -> 4 (0.6) would merge them; 2 - 3 (0.3) is below threshold.
EVENT = {
    "x": np.array([100.0, 200.0, 300.0, 0.0, 0.0, 0.0, 50.0]),
    "y": np.array([0.0, 0.0, 0.0, 100.0, 200.0, 300.0, 50.0]),
    "z": np.zeros(7),
}
EDGES = np.array([[0, 1, 3, 4, 2, 1, 6], [1, 2, 4, 5, 3, 4, 0]])
SCORES = np.array([0.9, 0.8, 0.95, 0.7, 0.3, 0.6, 0.2])


def test_components_merge_through_fake_edge():
    lab = GNNClusterer(threshold=0.5).cluster(EVENT, edge_index=EDGES, scores=SCORES)
    assert lab.tolist() == [0, 0, 0, 0, 0, 0, -1]


def test_walk_resolves_branching_by_highest_score():
    lab = GNNClusterer(threshold=0.5, walk=True).cluster(EVENT, edge_index=EDGES, scores=SCORES)
    assert lab.tolist() == [0, 0, 0, 1, 1, 1, -1]


def test_walk_takes_second_best_when_best_is_taken():
    # hit 0 is already full with two better edges (0-5, 0-6), so hit 1 keeps 1-2 and 1-3
    e = np.array([[0, 0, 1, 1, 1], [5, 6, 0, 2, 3]])
    s = np.array([0.99, 0.98, 0.9, 0.8, 0.7])
    assert walk_edges(e, s, 7).tolist() == [True, True, False, True, True]


def test_walk_keeps_two_best_per_hit():
    e = np.array([[0, 0, 0], [1, 2, 3]])
    assert walk_edges(e, np.array([0.7, 0.9, 0.8]), 4).tolist() == [False, True, True]


@pytest.mark.parametrize("seed", range(5))
def test_walk_matches_sequential_greedy(seed):
    rng = np.random.default_rng(seed)
    n = 30
    e = rng.integers(0, n, (2, 120))
    s = rng.random(120)
    deg = np.zeros(n, int)
    expect = np.zeros(120, bool)
    for i in np.argsort(-s):  # the sequential definition
        u, v = e[:, i]
        if u != v and deg[u] < 2 and deg[v] < 2:
            expect[i] = True
            deg[u] += 1
            deg[v] += 1
    assert walk_edges(e, s, n).tolist() == expect.tolist()


# Two tracks on layers 0..3: A = hits 0-3 along +x, B = hits 4-7 along +y. The fake edge
# 1 -> 6 (0.85) outscores the true 1 -> 2 (0.8), but hit 6 already has its better incoming
# edge 5 -> 6 (0.9): chains keep A and B apart, while components and walk merge them.
CROSS = {
    "x": np.r_[100.0, 200.0, 300.0, 400.0, np.zeros(4)],
    "y": np.r_[np.zeros(4), 100.0, 200.0, 300.0, 400.0],
    "z": np.zeros(8),
    "layer": np.r_[0, 1, 2, 3, 0, 1, 2, 3],
}
CROSS_EDGES = np.array([[0, 1, 2, 4, 5, 6, 1, 0, 4], [1, 2, 3, 5, 6, 7, 6, 2, 6]])
CROSS_SCORES = np.array([0.95, 0.8, 0.9, 0.95, 0.9, 0.75, 0.85, 0.6, 0.55])


@pytest.mark.parametrize("mode,expect", [
    ("chain", [0, 0, 0, 0, 1, 1, 1, 1]),
    ("components", [0] * 8),
    ("walk", [0] * 7 + [-1]),  # hit 6 is full (5-6, 1-6), so 6-7 is dropped
])
def test_chain_separates_tracks_that_a_fake_edge_joins(mode, expect):
    lab = GNNClusterer(mode=mode).cluster(CROSS, edge_index=CROSS_EDGES, scores=CROSS_SCORES)
    assert lab.tolist() == expect


def test_chain_keeps_one_out_and_one_in_edge_per_hit():
    # edges given inner -> outer or reversed: orientation comes from the layer order;
    # the skip edges 0 -> 2 and 4 -> 6 lose to the consecutive ones at their outer hit
    rev = CROSS_EDGES[::-1].copy()
    kept = chain_edges(rev, CROSS_SCORES, CROSS["layer"])
    assert kept.tolist() == [True, True, True, True, True, True, False, False, False]
    # radius order when no layer column: same event without `layer` gives the same tracks
    no_layer = {k: v for k, v in CROSS.items() if k != "layer"}
    lab = GNNClusterer(mode="chain").cluster(no_layer, edge_index=rev, scores=CROSS_SCORES)
    assert lab.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_chain_follows_layer_not_radius():
    # a track whose radius decreases with the layer index (layers numbered outside-in)
    ev = {"x": np.array([300.0, 200.0, 100.0]), "y": np.zeros(3), "z": np.zeros(3),
          "layer": np.array([0, 1, 2])}
    # hit 0 has two candidate successors in layer order (1 and 2); by layer it keeps 0 -> 1
    e, s = np.array([[0, 0, 1], [1, 2, 2]]), np.array([0.9, 0.8, 0.7])
    assert chain_edges(e, s, ev["layer"]).tolist() == [True, False, True]
    assert GNNClusterer(mode="chain").cluster(ev, edge_index=e, scores=s).tolist() == [0, 0, 0]


@pytest.mark.parametrize("penalty,expect", [(1.0, [0, 0, 0, 0]), (0.0, [0, -1, 0, 0])])
def test_chain_prefers_the_nearest_layer(penalty, expect):
    # one track on layers 0..3; the skip edge 0 -> 2 scores higher than 0 -> 1 (both true):
    # ranked by score alone hit 1 is orphaned (1 -> 2 finds hit 2 taken), with the penalty
    # the chain is 0 -> 1 -> 2 -> 3
    ev = {"x": np.array([100.0, 200.0, 300.0, 400.0]), "y": np.zeros(4), "z": np.zeros(4),
          "layer": np.array([0, 1, 2, 3])}
    e, s = np.array([[0, 0, 1, 2], [2, 1, 2, 3]]), np.array([0.99, 0.95, 0.9, 0.9])
    lab = GNNClusterer(mode="chain", gap_penalty=penalty, min_hits=2).cluster(ev, edge_index=e, scores=s)
    assert lab.tolist() == expect


def test_chain_ignores_same_layer_edges_and_self_loops():
    e = np.array([[0, 1, 2, 2], [1, 0, 2, 3]])
    assert chain_edges(e, np.array([0.9, 0.8, 0.99, 0.5]), np.array([0, 0, 1, 2])).tolist() == [
        False, False, False, True]
    assert chain_edges(np.zeros((2, 0), np.int64), np.zeros(0), np.zeros(3)).size == 0


@pytest.mark.parametrize("seed", range(5))
def test_chain_matches_sequential_greedy(seed):
    rng = np.random.default_rng(seed)
    n = 30
    e = rng.integers(0, n, (2, 150))
    s = rng.random(150)
    order = rng.integers(0, 8, n)
    has_out, has_in = np.zeros(n, bool), np.zeros(n, bool)
    expect = np.zeros(150, bool)
    for i in np.argsort(-s, kind="stable"):  # the sequential definition
        u, v = e[:, i]
        if order[u] == order[v]:
            continue
        if order[u] > order[v]:
            u, v = v, u
        if not has_out[u] and not has_in[v]:
            expect[i] = has_out[u] = has_in[v] = True
    assert chain_edges(e, s, order).tolist() == expect.tolist()


def test_connected_tracks_labels():
    lab = connected_tracks(np.array([[0, 2], [1, 3]]), 5)
    assert lab[0] == lab[1] and lab[2] == lab[3] and len(set(lab.tolist())) == 3


def test_threshold_min_hits_and_empty():
    lab = GNNClusterer(threshold=0.85, min_hits=2).cluster(EVENT, edge_index=EDGES, scores=SCORES)
    assert lab.tolist() == [0, 0, -1, 1, 1, -1, -1]
    empty = {"x": np.zeros(0), "y": np.zeros(0), "z": np.zeros(0)}
    assert GNNClusterer().cluster(empty, edge_index=np.zeros((2, 0)), scores=np.zeros(0)).size == 0
    no_edges = GNNClusterer().cluster(EVENT, edge_index=np.zeros((2, 0)), scores=np.zeros(0))
    assert (no_edges == -1).all()


def test_bad_input():
    with pytest.raises(DataError, match="`run=RUN_DIR`"):
        GNNClusterer().cluster(EVENT)
    with pytest.raises(DataError, match="edges"):
        GNNClusterer().cluster(EVENT, edge_index=EDGES, scores=SCORES[:3])
    with pytest.raises(DataError, match="hit `9`"):
        GNNClusterer().cluster(EVENT, edge_index=np.array([[0], [9]]), scores=np.array([0.9]))
    with pytest.raises(ConfigError, match="threshold"):
        GNNClusterer(threshold=2.0)
    with pytest.raises(ConfigError, match="mode"):
        GNNClusterer(mode="tree")
    with pytest.raises(ConfigError, match="gap_penalty"):
        GNNClusterer(mode="chain", gap_penalty=-1.0)
    with pytest.raises(ConfigError, match="contradicts"):
        GNNClusterer(mode="chain", walk=True)


@pytest.mark.parametrize("graph,given,expect", [
    ("layers", {}, ("chain", 0.1)),
    ("knn", {}, ("components", 0.5)),
    (None, {}, ("components", 0.5)),
    ("layers", {"mode": "components"}, ("components", 0.5)),
    ("layers", {"threshold": 0.4}, ("chain", 0.4)),
    ("layers", {"walk": True}, ("walk", 0.5)),
    ("knn", {"mode": "chain"}, ("chain", 0.1)),
])
def test_defaults_follow_the_models_graph(graph, given, expect):
    """A run trained on the `layers` graph gets chain building (threshold 0.1) by default."""

    class Model:  # only the attribute the defaults look at
        pass

    model = Model()
    if graph is not None:
        model.graph = graph
    c = GNNClusterer(model=model, **given)
    assert (c.mode, c.threshold) == expect


# --------------------------------------------------------------------------- triplets / directed chain
def test_edge_pairs_meet_head_to_tail():
    from hepgraph.cluster.graph import edge_pairs

    e = np.array([[0, 1, 1, 3], [1, 2, 3, 1]])            # 0->1, 1->2, 1->3, 3->1
    t = edge_pairs(e)
    assert sorted(map(tuple, t.T.tolist())) == [(0, 1), (0, 2), (3, 1)]   # 1->3->1 is no triplet


def test_triplets_follow_two_tracks_through_a_shared_hit():
    """Tracks 0-1-2-3-4 and 5-6-2-7-8 share hit 2: components merge them, walk cuts one;
    triplets (scored by their kink) keep both whole, the shared hit going to one of them."""
    from hepgraph.cluster.graph import connected_tracks, edge_pairs, triplet_tracks, walk_edges

    e = np.array([[0, 1, 2, 3, 5, 6, 2, 7], [1, 2, 3, 4, 6, 2, 7, 8]])
    n = 9
    assert len(set(connected_tracks(e, n).tolist())) == 1
    walk = connected_tracks(e[:, walk_edges(e, np.ones(8), n)], n)
    assert len(set(walk[[5, 6, 7, 8]].tolist())) > 1 or len(set(walk[[0, 1, 3, 4]].tolist())) > 1
    t = edge_pairs(e)
    good = {(1, 2), (0, 1), (2, 3), (4, 5), (5, 6), (6, 7)}   # same-track pairs of edge indices
    s = np.array([0.9 if (a, b) in good else 0.2 for a, b in t.T.tolist()])
    lab = triplet_tracks(e, n, t, s)
    assert lab[0] == lab[1] == lab[3] == lab[4] and lab[5] == lab[6] == lab[7] == lab[8]
    assert lab[0] != lab[5] and lab[2] in (lab[0], lab[5])


def test_triplet_mode_uses_edge_scores_without_a_triplet_head():
    e = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])
    lab = GNNClusterer(mode="triplets", threshold=0.5, min_hits=3).cluster(
        {"x": np.arange(5.0), "y": np.zeros(5), "z": np.zeros(5)}, edge_index=e, scores=np.array([0.9, 0.9, 0.1, 0.9]))
    assert lab.tolist() == [0, 0, 0, -1, -1]                 # 2-3 dropped; 3-4 is a 2-hit track


def test_triplet_mode_takes_the_models_triplets():
    e = np.array([[0, 1, 1], [1, 2, 3]])
    trip = np.array([[0, 0], [1, 2]])                         # 0->1->2 and 0->1->3
    inputs = {"edge_index": e, "scores": np.ones(3), "triplets": trip, "triplet_scores": np.array([0.2, 0.8])}
    lab = GNNClusterer(mode="triplets", min_hits=3).cluster(
        {"x": np.arange(4.0), "y": np.zeros(4), "z": np.zeros(4)}, **inputs)
    assert lab[0] == lab[1] == lab[3] and lab[2] == -1


def test_chain_follows_the_given_direction_inwards():
    """Directed edges (the learned direction of travel) need no outward order: an inward track."""
    e = np.array([[3, 2, 1, 3], [2, 1, 0, 1]])                # 3->2->1->0, plus a skip 3->1
    keep = chain_edges(e, np.array([0.9, 0.9, 0.9, 0.95]), None)
    assert keep.sum() == 2 and keep[2]                        # one out / one in per hit
    lab = GNNClusterer(mode="chain", direction="edges", min_hits=2).cluster(
        {"x": np.arange(4.0), "y": np.zeros(4), "z": np.zeros(4)}, edge_index=e, scores=np.array([0.9, 0.9, 0.9, 0.2]))
    assert len(set(lab.tolist())) == 1


def test_bad_direction_and_triplet_threshold():
    with pytest.raises(ConfigError, match="direction"):
        GNNClusterer(mode="chain", direction="outward")
    with pytest.raises(ConfigError, match="triplet_threshold"):
        GNNClusterer(mode="triplets", triplet_threshold=2.0)
