"""Path builders of scored edges: the greedy walk, outward chains and triplet paths.

The algorithms behind the ``walk``, ``chain`` and ``triplets`` modes of the ``gnn``
clusterer (:mod:`hepgraph.cluster.graph`, whose docstring describes each mode); they take
thresholded edges with scores and return kept-edge masks or per-hit labels, with no model.
"""

from __future__ import annotations

import numpy as np

from hepgraph.represent.graph_report import connected_tracks

__all__ = ["walk_edges", "chain_edges", "edge_pairs", "triplet_tracks", "triplet_paths"]


def _rank_at_nodes(a: np.ndarray, b: np.ndarray, score: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank (0 = best score) of each edge ``idx`` among the edges of its end ``a`` and of its end ``b``."""
    m = idx.size
    node = np.concatenate([a[idx], b[idx]])
    eid = np.concatenate([idx, idx])
    sc = np.concatenate([score[idx], score[idx]])
    order = np.lexsort((eid, -sc, node))  # ties: lowest edge index first
    sn = node[order]
    start = np.r_[0, np.flatnonzero(sn[1:] != sn[:-1]) + 1]
    grp_start = np.repeat(start, np.diff(np.r_[start, sn.size]))
    rank = np.empty(2 * m, np.int64)
    rank[order] = np.arange(2 * m) - grp_start
    return rank[:m], rank[m:]


def walk_edges(edge_index: np.ndarray, scores: np.ndarray, num_hits: int, max_degree: int = 2) -> np.ndarray:
    """Bool mask of the edges kept by the greedy walk (see the module docstring).

    Edges are accepted in decreasing score while both of their hits have fewer than
    ``max_degree`` accepted edges; done in vectorised rounds (each round accepts every edge
    that is among the best free edges of both its hits), which gives the same result as
    the sequential greedy pass up to ties. With ``max_degree=2`` tracks become paths.

    Args:
        edge_index: (2, E) candidate edges (already thresholded), undirected.
        scores: (E,) edge scores.
        num_hits: N.
        max_degree: most edges kept per hit.
    """
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    s = np.asarray(scores, np.float64)
    a, b = e[0], e[1]
    kept = np.zeros(e.shape[1], bool)
    deg = np.zeros(num_hits, np.int64)
    free = a != b
    while True:
        free &= ~kept & (deg[a] < max_degree) & (deg[b] < max_degree)
        idx = np.flatnonzero(free)
        if idx.size == 0:
            return kept
        ra, rb = _rank_at_nodes(a, b, s, idx)
        ok = (ra < max_degree - deg[a[idx]]) & (rb < max_degree - deg[b[idx]])
        new = idx[ok]  # never empty: the best free edge ranks 0 at both ends
        kept[new] = True
        np.add.at(deg, a[new], 1)
        np.add.at(deg, b[new], 1)


def chain_edges(edge_index: np.ndarray, scores: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Bool mask of the edges kept by the outward one-to-one matching (``chain`` mode).

    Each edge is oriented from its hit with the lower ``order`` to the higher one; edges
    are accepted in decreasing score while their inner hit has no accepted outgoing edge
    and their outer hit no accepted incoming edge (ties as in :func:`walk_edges`). Edges
    between hits of equal ``order`` and self-loops are never kept, so the kept edges form
    disjoint chains (no branching, no cycles).

    Args:
        edge_index: (2, E) candidate edges (already thresholded), either direction.
        scores: (E,) edge scores.
        order: (N,) position of each hit along a track (layer index, or radius in mm), or
            None to keep each edge's own direction (row 0 -> row 1).

    Returns:
        (E,) bool.
    """
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    if e.shape[1] == 0:
        return np.zeros(0, bool)
    if order is None:
        n = int(e.max()) + 1
        inner, outer = e[0], e[1]
        ok = inner != outer
    else:
        o = np.asarray(order)
        n = o.shape[0]
        flip = o[e[0]] > o[e[1]]
        inner = np.where(flip, e[1], e[0])
        outer = np.where(flip, e[0], e[1])
        ok = o[inner] != o[outer]
    # out-slot of hit i is node i, in-slot of hit j is node n + j: a degree-1 walk on the
    # slots is exactly the one-outgoing / one-incoming greedy matching
    slots = np.stack([inner, outer + n])
    slots[:, ~ok] = 0  # a self-loop on slot 0 is never accepted by walk_edges
    return walk_edges(slots, scores, 2 * n, max_degree=1) & ok


def edge_pairs(edge_index: np.ndarray) -> np.ndarray:
    """(2, T) all pairs of edges (e1: a -> b, e2: b -> c, a != c) meeting head to tail."""
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    if e.shape[1] == 0:
        return np.zeros((2, 0), np.int64)
    n = int(e.max()) + 1
    out_order = np.argsort(e[0], kind="stable")
    out_deg = np.bincount(e[0], minlength=n)
    start = np.cumsum(out_deg) - out_deg
    cnt = out_deg[e[1]]
    e1 = np.repeat(np.arange(e.shape[1]), cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    e2 = out_order[np.repeat(start[e[1]], cnt) + offs]
    ok = e[0, e1] != e[1, e2]
    return np.stack([e1[ok], e2[ok]])


def triplet_tracks(edge_index: np.ndarray, num_hits: int, triplets: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Track label per hit from triplets (see the module docstring, ``triplets`` mode).

    Args:
        edge_index: (2, E) the kept edges, directed (a -> b).
        num_hits: N.
        triplets: (2, T) pairs (e1, e2) of edge indices with e1's head = e2's tail.
        scores: (T,) triplet scores (higher = more likely one track).

    Returns:
        (N,) int64 path label per hit (-1 when on no edge); edges no triplet links are
        two-hit paths.
    """
    return triplet_paths(edge_index, num_hits, triplets, scores)[0]


def triplet_paths(edge_index: np.ndarray, num_hits: int, triplets: np.ndarray,
                  scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`triplet_tracks` and the (E,) bool mask of the edges on the tracks' paths.

    An edge is on a path when both of its hits carry the label of the path it belongs to.
    """
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    ne = e.shape[1]
    lab = np.full(num_hits, -1, np.int64)
    if ne == 0:
        return lab, np.zeros(0, bool)
    t = np.asarray(triplets, np.int64).reshape(2, -1)
    # edge end slots: 2 e = tail end, 2 e + 1 = head end; a triplet links e1's head to e2's tail
    links = np.stack([2 * t[0] + 1, 2 * t[1]])
    acc = walk_edges(links, np.asarray(scores, np.float64), 2 * ne, max_degree=1) if t.shape[1] else \
        np.zeros(0, bool)
    path = connected_tracks(t[:, acc], ne)                                  # (E,) path of each edge
    # (hit, path) memberships, each hit to its longest path (ties: lowest path id)
    hits = np.concatenate([e[0], e[1]])
    paths = np.concatenate([path, path])
    length = np.bincount(path, minlength=int(path.max()) + 1)
    key = np.unique(np.stack([hits, paths], 1), axis=0)
    order = np.lexsort((key[:, 1], -length[key[:, 1]], key[:, 0]))
    key = key[order]
    first = np.r_[True, key[1:, 0] != key[:-1, 0]]
    lab[key[first, 0]] = key[first, 1]
    return lab, (lab[e[0]] == path) & (lab[e[1]] == path)
