"""Refining tracks built as paths of edges: cut them at kinks, join them through weaker edges.

The ``gnn`` clusterer's path builders (``chain``, ``walk``, ``triplets``) make every track a
path of edges (each hit has at most two). Two ways they fail are geometric:

- a wrong edge bends the path: the **kink** at a hit, the angle (rad) between the segment
  arriving from one neighbour and the segment leaving to the other, is small along a real
  track (its curvature and multiple scattering) and large where two tracks or a noise hit
  were chained. :func:`cut_kinks` drops, at every hit whose kink exceeds ``kink_max``, the
  lower-scoring of its two edges;
- a missing edge splits a track: :func:`join_paths` then links path ends (and lone hits)
  through candidate edges scoring above a lower ``join_threshold``, best first, when the
  link keeps every kink at most ``kink_max`` and joins two different tracks.

Kinks are measured in 3D and need no direction of travel (a path end is extended on the
side where it is free), so they hold for barrels, forward planes and curling tracks alike;
``kink_max`` is a property of the detector (layer spacing, curvature, material) and is
chosen with the thresholds on validation events (:mod:`hepgraph.cluster.calibrate`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kink_angles", "cut_kinks", "join_paths"]


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle (rad) between the rows of ``u`` and ``v`` (N, 3); 0 for a zero-length segment."""
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    den = nu * nv
    cos = np.divide((u * v).sum(-1), den, out=np.ones_like(den), where=den > 0)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _neighbours(edges: np.ndarray, n: int) -> np.ndarray:
    """(N, 2) edge index of each hit's first and second path edge (-1 where none)."""
    slot = np.full((n, 2), -1, np.int64)
    if edges.shape[1] == 0:
        return slot
    ends = np.concatenate([edges[0], edges[1]])
    eid = np.tile(np.arange(edges.shape[1]), 2)
    order = np.argsort(ends, kind="stable")
    ends, eid = ends[order], eid[order]
    first = np.r_[True, ends[1:] != ends[:-1]]
    slot[ends[first], 0] = eid[first]
    second = ~first
    slot[ends[second], 1] = eid[second]
    return slot


def kink_angles(pos: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kink at every hit with two path edges.

    Args:
        pos: (N, 3) hit positions (mm).
        edges: (2, M) path edges (every hit on at most two).

    Returns:
        ``(hits, (2, K) edge indices, (K,) angles in rad)``: the hits with two edges, their two
        edges and the angle between the segment from one neighbour to the hit and the segment
        from the hit to the other (0 for a straight continuation).
    """
    e = np.asarray(edges, np.int64).reshape(2, -1)
    slot = _neighbours(e, pos.shape[0])
    hits = np.flatnonzero(slot[:, 1] >= 0)
    a, b = slot[hits, 0], slot[hits, 1]
    na = np.where(e[0, a] == hits, e[1, a], e[0, a])  # the neighbour across each edge
    nb = np.where(e[0, b] == hits, e[1, b], e[0, b])
    return hits, np.stack([a, b]), _angle(pos[hits] - pos[na], pos[nb] - pos[hits])


def cut_kinks(pos: np.ndarray, edges: np.ndarray, scores: np.ndarray,
              kink_max: float) -> np.ndarray:
    """Bool mask of the path edges kept after cutting at kinks above ``kink_max`` (rad).

    At each such hit the lower-scoring of its two edges goes (ties: the later edge).
    """
    e = np.asarray(edges, np.int64).reshape(2, -1)
    keep = np.ones(e.shape[1], bool)
    if e.shape[1] < 2:
        return keep
    _, pair, ang = kink_angles(pos, e)
    bad = ang > kink_max
    a, b = pair[0, bad], pair[1, bad]
    s = np.asarray(scores, np.float64)
    keep[np.where(s[a] < s[b], a, b)] = False
    return keep


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def join_paths(pos: np.ndarray, edges: np.ndarray, candidates: np.ndarray, scores: np.ndarray,
               kink_max: float) -> np.ndarray:
    """Candidate edges that join path ends, accepted best first (see the module docstring).

    Args:
        pos: (N, 3) hit positions (mm).
        edges: (2, M) path edges.
        candidates: (2, C) edges that may be added (e.g. scoring above the join threshold).
        scores: (C,) their scores.
        kink_max: largest kink (rad) a link may make at either of its hits.

    Returns:
        (2, J) the accepted edges; with ``edges`` every hit is still on at most two and the
        tracks stay paths (no cycles).
    """
    e = np.asarray(edges, np.int64).reshape(2, -1)
    c = np.asarray(candidates, np.int64).reshape(2, -1)
    n = pos.shape[0]
    deg = np.bincount(e.ravel(), minlength=n)
    ok = (deg[c[0]] < 2) & (deg[c[1]] < 2) & (c[0] != c[1])
    if not ok.any():
        return np.zeros((2, 0), np.int64)
    c, s = c[:, ok], np.asarray(scores, np.float64)[ok]
    c = c[:, np.argsort(-s, kind="stable")]
    nb = np.full(n, -1, np.int64)  # the one neighbour of a hit of degree 1
    ends = np.flatnonzero(deg == 1)
    slot = _neighbours(e, n)[ends, 0]
    nb[ends] = np.where(e[0, slot] == ends, e[1, slot], e[0, slot])
    parent = np.arange(n)
    for u, v in zip(e[0].tolist(), e[1].tolist(), strict=True):
        parent[_find(parent, int(u))] = _find(parent, int(v))
    out = []
    for i, j in zip(c[0].tolist(), c[1].tolist(), strict=True):
        if deg[i] >= 2 or deg[j] >= 2:
            continue
        ri, rj = _find(parent, i), _find(parent, j)
        if ri == rj:
            continue
        step = pos[j] - pos[i]
        if nb[i] >= 0 and _angle(pos[i] - pos[nb[i]], step) > kink_max:
            continue
        if nb[j] >= 0 and _angle(step, pos[nb[j]] - pos[j]) > kink_max:
            continue
        out.append((i, j))
        parent[ri] = rj
        deg[i] += 1
        deg[j] += 1
        nb[i] = j if deg[i] == 1 else -1
        nb[j] = i if deg[j] == 1 else -1
    return np.asarray(out, np.int64).T.reshape(2, -1)
