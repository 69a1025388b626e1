"""Track building from scored edges (the tracking-GNN chain's last step).

Edges with score > ``threshold`` are kept, then

- ``components`` (default): the connected components of the kept edges are the tracks
  (``scipy.sparse.csgraph.connected_components``);
- ``walk``: branchings are resolved first. Edges are oriented outwards (from the hit of
  smaller distance to the origin to the larger one). Each hit keeps at most one outgoing
  and one incoming edge: an edge survives when it is the highest-scoring outgoing edge of
  its source *and* the highest-scoring incoming edge of its target among the still free
  edges; this is repeated until no edge can be added (a vectorised greedy walk that
  follows the highest-score edge at each branching). The survivors form disjoint paths,
  whose components are the tracks.

The scores come either from ``cluster(event, edge_index=..., scores=...)`` or, when a
trained edge classifier is attached (``model=``), from running it on the event.

YAML::

    clusterer: {name: gnn, threshold: 0.5, walk: true, min_hits: 3}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.errors import ConfigError, DataError
from hepgraph.registry import CLUSTERERS

__all__ = ["connected_tracks", "walk_edges", "GNNClusterer"]


def connected_tracks(edge_index: np.ndarray, num_hits: int) -> np.ndarray:
    """(N,) component label of each hit for undirected ``edge_index`` (2, E)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    adj = coo_matrix((np.ones(e.shape[1], np.int8), (e[0], e[1])), shape=(num_hits, num_hits))
    _, lab = connected_components(adj, directed=False)
    return lab.astype(np.int64)


def _best_per(key: np.ndarray, score: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Bool mask over edges: among ``cand`` edges, the top-score one of each ``key``."""
    idx = np.flatnonzero(cand)
    out = np.zeros(cand.shape, bool)
    if idx.size == 0:
        return out
    order = idx[np.lexsort((idx, -score[idx], key[idx]))]  # ties: lowest edge index
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    out[order[first]] = True
    return out


def walk_edges(edge_index: np.ndarray, scores: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Bool mask of edges kept by the greedy walk (see the module docstring).

    Args:
        edge_index: (2, E) candidate edges (already thresholded).
        scores: (E,) edge scores.
        order: (N,) position of each hit along a track (distance to the origin, mm).
    """
    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    s = np.asarray(scores, np.float64)
    flip = order[e[0]] > order[e[1]]
    src = np.where(flip, e[1], e[0])
    dst = np.where(flip, e[0], e[1])
    n = int(order.shape[0])
    kept = np.zeros(e.shape[1], bool)
    has_out = np.zeros(n, bool)
    has_in = np.zeros(n, bool)
    free = src != dst
    while True:
        free &= ~has_out[src] & ~has_in[dst] & ~kept
        if not free.any():
            return kept
        new = _best_per(src, s, free) & _best_per(dst, s, free)
        kept |= new
        has_out[src[new]] = True
        has_in[dst[new]] = True


@CLUSTERERS.register("gnn", needs_model=True, task="edge-classification")
class GNNClusterer(Clusterer):
    """Edge scores -> threshold -> connected components (or greedy walk).

    Args:
        threshold: keep edges with score > threshold.
        walk: resolve branchings by the greedy highest-score walk.
        min_hits: smaller tracks become noise.
        model: optional trained edge classifier (``model(batch)["out"]`` logits per edge).
        features: feature spec the model was trained with.
        device: torch device for the model.
    """

    name = "gnn"
    needs_model = True

    def __init__(
        self, *, threshold: float = 0.5, walk: bool = False, min_hits: int = 3,
        model: Any = None, features: Any = None, device: str = "cpu",
    ) -> None:
        super().__init__(min_hits)
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"gnn `threshold` is an edge probability in [0, 1], got `{threshold}`")
        self.threshold = float(threshold)
        self.walk = bool(walk)
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
        if self.walk and e.shape[1]:
            e = e[:, walk_edges(e, s, np.linalg.norm(pos, axis=1))]
        return connected_tracks(e, n)
