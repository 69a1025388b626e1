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

The scores come either from ``cluster(event, edge_index=..., scores=...)`` or, when a
trained edge classifier is attached (``model=``), from running it on the event.

Defaults: ``mode`` is ``chain`` when the attached model builds its edges with the ``layers``
graph (the graph ``chain`` was designed for) and ``components`` otherwise; ``threshold`` is
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
from hepgraph.errors import ConfigError, DataError
from hepgraph.registry import CLUSTERERS

__all__ = ["connected_tracks", "walk_edges", "chain_edges", "GNNClusterer", "MODES"]

#: track-building modes of :class:`GNNClusterer`.
MODES = ("components", "walk", "chain")


def connected_tracks(edge_index: np.ndarray, num_hits: int) -> np.ndarray:
    """(N,) component label of each hit for undirected ``edge_index`` (2, E)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    adj = coo_matrix((np.ones(e.shape[1], np.int8), (e[0], e[1])), shape=(num_hits, num_hits))
    _, lab = connected_components(adj, directed=False)
    return lab.astype(np.int64)


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


def chain_edges(edge_index: np.ndarray, scores: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Bool mask of the edges kept by the outward one-to-one matching (``chain`` mode).

    Each edge is oriented from its hit with the lower ``order`` to the higher one; edges
    are accepted in decreasing score while their inner hit has no accepted outgoing edge
    and their outer hit no accepted incoming edge (ties as in :func:`walk_edges`). Edges
    between hits of equal ``order`` and self-loops are never kept, so the kept edges form
    disjoint chains (no branching, no cycles).

    Args:
        edge_index: (2, E) candidate edges (already thresholded), either direction.
        scores: (E,) edge scores.
        order: (N,) position of each hit along a track (layer index, or radius in mm).

    Returns:
        (E,) bool.
    """
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    o = np.asarray(order)
    n = o.shape[0]
    if e.shape[1] == 0:
        return np.zeros(0, bool)
    flip = o[e[0]] > o[e[1]]
    inner = np.where(flip, e[1], e[0])
    outer = np.where(flip, e[0], e[1])
    ok = o[inner] != o[outer]
    # out-slot of hit i is node i, in-slot of hit j is node n + j: a degree-1 walk on the
    # slots is exactly the one-outgoing / one-incoming greedy matching
    slots = np.stack([inner, outer + n])
    slots[:, ~ok] = 0  # a self-loop on slot 0 is never accepted by walk_edges
    return walk_edges(slots, scores, 2 * n, max_degree=1) & ok


@CLUSTERERS.register("gnn", needs_model=True, task="edge-classification")
class GNNClusterer(Clusterer):
    """Edge scores -> threshold -> connected components (or greedy walk / outward chains).

    Args:
        threshold: keep edges with score > threshold (default: 0.1 for chain, else 0.5).
        mode: ``components``, ``walk`` or ``chain`` (see the module docstring); default
            ``chain`` for a model on the ``layers`` graph, else ``components``.
        walk: shorthand for ``mode="walk"`` (kept for older configs).
        gap_penalty: ``chain`` only: score subtracted per skipped ``layer`` when ranking edges.
        min_hits: smaller tracks become noise.
        model: optional trained edge classifier (``model(batch)["out"]`` logits per edge).
        features: feature spec the model was trained with.
        device: torch device for the model.
    """

    name = "gnn"
    needs_model = True

    def __init__(
        self, *, threshold: float | None = None, mode: str | None = None, walk: bool = False,
        gap_penalty: float = 1.0, min_hits: int = 3, model: Any = None, features: Any = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(min_hits)
        if mode is None:
            mode = "chain" if getattr(model, "graph", None) == "layers" and not walk else "components"
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

    def _scores(self, event: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if self.model is None:
            raise DataError(
                "method `gnn` needs edge scores: pass cluster(event, edge_index=..., scores=...) "
                "or a trained edge-classification model (CLI: --run RUN_DIR)"
            )
        from hepgraph.cluster.learned import run_model

        out = run_model(self.model, event, self.features, self.device)
        if "edge_index" not in out:
            raise DataError("the model returned no `edge_index`: it is not an edge-level model; "
                            "train it with --task edge-classification")
        logits = out["out"].reshape(-1)
        return out["edge_index"], 1.0 / (1.0 + np.exp(-logits))

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        n = pos.shape[0]
        if inputs.get("scores") is not None:
            e = inputs.get("edge_index", event.get("edge_index"))
            if e is None:
                raise DataError("`scores` given without `edge_index` (2, E)")
            s = inputs["scores"]
        else:
            e, s = self._scores(event)
        e = np.asarray(e, np.int64).reshape(2, -1)
        s = np.asarray(s, np.float64).reshape(-1)
        if s.size != e.shape[1]:
            raise DataError(f"`scores` has {s.size} entries but `edge_index` has {e.shape[1]} edges")
        if e.size and (e.min() < 0 or e.max() >= n):
            raise DataError(f"`edge_index` refers to hit `{int(e.max())}` but the event has {n} hits")
        keep = s > self.threshold
        e, s = e[:, keep], s[keep]
        if self.mode == "walk" and e.shape[1]:
            e = e[:, walk_edges(e, s, n)]
        elif self.mode == "chain" and e.shape[1]:
            e = e[:, self._chain(event, pos, e, s)]
        return connected_tracks(e, n)

    def _chain(self, event: dict[str, Any], pos: np.ndarray, e: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``chain`` mask: layer order (radius without ``layer``), skips ranked lower."""
        n = pos.shape[0]
        if "layer" not in event:
            return chain_edges(e, s, np.hypot(pos[:, 0], pos[:, 1]))
        layer = np.asarray(event["layer"], np.int64).reshape(-1)
        if layer.shape[0] != n:
            raise DataError(f"`layer` has {layer.shape[0]} entries but the event has {n} hits")
        skipped = np.maximum(np.abs(layer[e[0]] - layer[e[1]]) - 1, 0)
        return chain_edges(e, s - self.gap_penalty * skipped, layer)
