"""Track building from scored edges (the tracking-GNN chain's last step).

Edges with score > ``threshold`` are kept, then

- ``components``: the connected components of the kept edges are the tracks
  (``scipy.sparse.csgraph.connected_components``);
- ``walk``: branchings are resolved first by following the highest-score edges: edges
  are accepted in decreasing score while both of their hits have fewer than two accepted
  edges, so every hit keeps its (at most) two best compatible edges and the tracks become
  paths (a hit where a track would branch keeps only the best-scoring continuation). This
  needs no orientation, so it also holds for curling tracks and same-layer neighbours.
- ``chain``: edges are oriented outwards (from the lower to the higher ``layer``, or
  transverse radius when the event has no ``layer`` column) and each hit keeps at most
  one outgoing and one incoming edge, accepted in decreasing score (a greedy one-to-one
  matching of hits to their successors). Unlike ``walk`` this stays correct on graphs
  whose true edges include layer skips (``max_gap > 1``, kNN): a hit cannot keep two
  outward edges of one track, so a track is one chain instead of interleaved halves.
  An edge skipping layers ranks ``gap_penalty`` lower per skipped layer (default 1.0:
  the nearest layer always comes first, the score decides within a layer), because a
  well-trained classifier scores a true skip edge as high as the consecutive one, and
  taking the skip would orphan the hit in between. Tracks must not curl back inwards
  (true for outgoing tracks in a barrel detector), and ``layer`` must number the layers
  from the inside out across the whole detector (the simulators' does; TrackML's
  per-volume ``layer_id`` does not: drop that column to order by radius).

- ``triplets``: tracks are chains of edges linked at the hits they share: for every pair
  of kept edges a -> b -> c (a triplet) a score says whether they continue one track (the
  model's triplet head when it has one, else the geometric mean of the two edge scores);
  triplets are accepted in decreasing score while each edge end is linked at most once, so
  every track is a path and two tracks can pass through one hit (a merged cluster) without
  merging or breaking. A hit on several paths goes to the longest. Edges keep the direction
  the model gave them (the direction of travel for ``track-gnn``), never assumed outwards.

``chain`` orients edges by ``direction``: ``layer``, ``radius``, ``edges`` (as given, e.g.
the learned direction of travel of ``track-gnn``) or ``auto`` (edges when the model says
its edges are directed, else layer, else radius).

The scores come either from ``cluster(event, edge_index=..., scores=...)`` or, when a
trained edge classifier is attached (``model=``), from running it on the event.

Defaults: ``mode`` is ``triplets`` for a model that scores triplets, ``chain`` when the
attached model builds its edges with the ``layers`` graph (the graph ``chain`` was designed
for) and ``components`` otherwise (``hepgraph cluster --run`` first takes the settings the
run chose on its validation events, ``RUN/cluster.yaml``); ``threshold`` is
0.1 for ``chain`` (the matching does the selection; the score cut only drops junk: chosen
on a validation set of sim-drift-chamber events, 0.1-0.3 equally good, 0.5 tripled the fake
rate there) and 0.5 for the others.

YAML::

    clusterer: {name: gnn, threshold: 0.1, mode: chain, gap_penalty: 1.0, min_hits: 3}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.registry import CLUSTERERS
from hepgraph.represent.graph_report import connected_tracks

__all__ = ["connected_tracks", "walk_edges", "chain_edges", "triplet_tracks", "GNNClusterer", "MODES"]

#: track-building modes of :class:`GNNClusterer`.
MODES = ("components", "walk", "chain", "triplets")
DIRECTIONS = ("auto", "layer", "radius", "edges")


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
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    ne = e.shape[1]
    lab = np.full(num_hits, -1, np.int64)
    if ne == 0:
        return lab
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
    return lab


@CLUSTERERS.register("gnn", needs_model=True, task="edge-classification")
class GNNClusterer(Clusterer):
    """Edge scores -> threshold -> connected components (or greedy walk / outward chains).

    Args:
        threshold: keep edges with score > threshold (default: 0.1 for chain, else 0.5).
        mode: ``components``, ``walk``, ``chain`` or ``triplets`` (see the module docstring);
            default ``triplets`` for a model with a triplet head, ``chain`` for a model on the
            ``layers`` graph, else ``components``.
        walk: shorthand for ``mode="walk"`` (kept for older configs).
        gap_penalty: ``chain`` only: score subtracted per skipped ``layer`` when ranking edges.
        direction: ``chain`` only: ``auto``, ``layer``, ``radius`` or ``edges``.
        triplet_threshold: ``triplets`` only: triplets scoring at or below it link nothing.
        min_hits: smaller tracks become noise.
        model: optional trained edge classifier (``model(batch)["out"]`` logits per edge).
        features: feature spec the model was trained with.
        device: torch device for the model.
    """

    name = "gnn"
    needs_model = True

    def __init__(
        self, *, threshold: float | None = None, mode: str | None = None, walk: bool = False,
        gap_penalty: float = 1.0, direction: str = "auto", triplet_threshold: float = 0.0,
        min_hits: int = 3, model: Any = None, features: Any = None, device: str = "cpu",
    ) -> None:
        super().__init__(min_hits)
        if mode is None and not walk:
            if getattr(model, "triplet_head", None) is not None:
                mode = "triplets"
            elif getattr(model, "graph", None) == "layers":
                mode = "chain"
        mode = mode or "components"
        if direction not in DIRECTIONS:
            raise ConfigError(f"gnn `direction` = `{direction}` is unknown; use one of {', '.join(DIRECTIONS)}")
        if not 0.0 <= triplet_threshold <= 1.0:
            raise ConfigError(f"gnn `triplet_threshold` is a probability in [0, 1], got `{triplet_threshold}`")
        self.direction, self.triplet_threshold = direction, float(triplet_threshold)
        if threshold is None:
            threshold = 0.1 if mode == "chain" else 0.5
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"gnn `threshold` is an edge probability in [0, 1], got `{threshold}`")
        if mode not in MODES:
            raise ConfigError(f"gnn `mode` = `{mode}` is unknown; use one of {', '.join(MODES)}")
        if walk and mode not in ("components", "walk"):
            raise ConfigError(f"gnn `walk=true` contradicts `mode={mode}`; give only `mode`")
        self.threshold = float(threshold)
        self.mode = "walk" if walk else mode
        self.walk = self.mode == "walk"
        if gap_penalty < 0:
            raise ConfigError(f"gnn `gap_penalty` must be >= 0, got `{gap_penalty}`")
        self.gap_penalty = float(gap_penalty)
        self.model = model
        self.features = features
        self.device = device

    def scores(self, event: dict[str, Any]) -> dict[str, np.ndarray]:
        """The attached model's outputs on one event.

        Returns:
            ``edge_index``, ``scores`` (sigmoid) and, for a model with a triplet head,
            ``triplets`` and ``triplet_scores``.
        """
        if self.model is None:
            raise DataError(
                "method `gnn` needs edge scores: pass cluster(event, edge_index=..., scores=...) "
                f"or a trained edge-classification model ({setting('run', 'RUN_DIR')})"
            )
        from hepgraph.cluster.learned import run_model

        out = run_model(self.model, event, self.features, self.device)
        if "edge_index" not in out:
            raise DataError("the model returned no `edge_index`: it is not an edge-level model; "
                            f"train it with {setting('task.name', 'edge-classification')}")
        res = {"edge_index": out["edge_index"], "scores": 1.0 / (1.0 + np.exp(-out["out"].reshape(-1)))}
        if "triplets" in out:
            res["triplets"] = out["triplets"]
            res["triplet_scores"] = 1.0 / (1.0 + np.exp(-out["triplet_out"].reshape(-1)))
        return res

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        n = pos.shape[0]
        if inputs.get("scores") is None:
            inputs = {**inputs, **self.scores(event)}
        e = inputs.get("edge_index", event.get("edge_index"))
        if e is None:
            raise DataError("`scores` given without `edge_index` (2, E)")
        s = inputs["scores"]
        e = np.asarray(e, np.int64).reshape(2, -1)
        s = np.asarray(s, np.float64).reshape(-1)
        if s.size != e.shape[1]:
            raise DataError(f"`scores` has {s.size} entries but `edge_index` has {e.shape[1]} edges")
        if e.size and (e.min() < 0 or e.max() >= n):
            raise DataError(f"`edge_index` refers to hit `{int(e.max())}` but the event has {n} hits")
        keep = s > self.threshold
        if self.mode == "triplets":
            return self._triplets(e, s, keep, n, inputs)
        e, s = e[:, keep], s[keep]
        if self.mode == "walk" and e.shape[1]:
            e = e[:, walk_edges(e, s, n)]
        elif self.mode == "chain" and e.shape[1]:
            e = e[:, self._chain(event, pos, e, s)]
        return connected_tracks(e, n)

    def _triplets(self, e: np.ndarray, s: np.ndarray, keep: np.ndarray, n: int, inputs: dict[str, Any]) -> np.ndarray:
        """``triplets`` labels: the model's triplet scores, else sqrt(s1 s2) of the edge scores."""
        new = np.full(e.shape[1], -1, np.int64)
        new[keep] = np.arange(int(keep.sum()))
        if inputs.get("triplets") is not None:
            t = np.asarray(inputs["triplets"], np.int64).reshape(2, -1)
            ts = np.asarray(inputs["triplet_scores"], np.float64).reshape(-1)
            ok = (new[t[0]] >= 0) & (new[t[1]] >= 0) & (ts > self.triplet_threshold)
            t, ts = new[t[:, ok]], ts[ok]
        else:
            t = edge_pairs(e[:, keep])
            sk = s[keep]
            ts = np.sqrt(sk[t[0]] * sk[t[1]]) if t.size else np.zeros(0)
            ok = ts > self.triplet_threshold
            t, ts = t[:, ok], ts[ok]
        return triplet_tracks(e[:, keep], n, t, ts)

    def _chain(self, event: dict[str, Any], pos: np.ndarray, e: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``chain`` mask by ``direction`` (layer order with skips ranked lower, radius, or edges)."""
        n = pos.shape[0]
        d = self.direction
        if d == "auto":
            d = "edges" if getattr(self.model, "directed_edges", False) else (
                "layer" if "layer" in event else "radius")
        if d == "edges":
            return chain_edges(e, s, None)
        if d == "radius" or "layer" not in event:
            return chain_edges(e, s, np.hypot(pos[:, 0], pos[:, 1]))
        layer = np.asarray(event["layer"], np.int64).reshape(-1)
        if layer.shape[0] != n:
            raise DataError(f"`layer` has {layer.shape[0]} entries but the event has {n} hits")
        skipped = np.maximum(np.abs(layer[e[0]] - layer[e[1]]) - 1, 0)
        return chain_edges(e, s - self.gap_penalty * skipped, layer)
