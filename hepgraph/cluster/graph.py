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

``chain``, ``walk`` and ``triplets`` make every track a path: with ``kink_max`` (rad) the
paths are cut where they bend more than that at a hit, and with ``join_threshold`` too,
path ends are joined through edges scoring above it that keep every bend within
``kink_max`` (:mod:`hepgraph.cluster.paths`; both are chosen on validation events with the
thresholds when a run calibrates its track building).

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

    clusterer: {name: gnn, threshold: 0.1, mode: chain, gap_penalty: 1.0, min_hits: 3,
                kink_max: 0.05, join_threshold: 0.2}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.cluster.builders import (
    chain_edges,
    edge_pairs,
    triplet_paths,
    triplet_tracks,
    walk_edges,
)
from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.registry import CLUSTERERS
from hepgraph.represent.graph_report import connected_tracks

__all__ = ["connected_tracks", "walk_edges", "chain_edges", "triplet_tracks", "triplet_paths", "GNNClusterer",
           "MODES"]

#: track-building modes of :class:`GNNClusterer`.
MODES = ("components", "walk", "chain", "triplets")
DIRECTIONS = ("auto", "layer", "radius", "edges")


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
        kink_max: path modes only: cut tracks where they bend by more than this (rad) at a hit
            (default None: no cut).
        join_threshold: path modes only, with ``kink_max``: join path ends through edges
            scoring above this when the join bends by at most ``kink_max`` (default None).
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
        kink_max: float | None = None, join_threshold: float | None = None,
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
        self.kink_max, self.join_threshold = _refine_options(self.mode, kink_max, join_threshold)
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
            lab, path = self._triplets(e, s, keep, n, inputs)
            if self.kink_max is None:
                return lab
            pe, ps = e[:, keep][:, path], s[keep][path]
        else:
            pe, ps = e[:, keep], s[keep]
            if self.mode == "walk" and pe.shape[1]:
                m = walk_edges(pe, ps, n)
                pe, ps = pe[:, m], ps[m]
            elif self.mode == "chain" and pe.shape[1]:
                m = self._chain(event, pos, pe, ps)
                pe, ps = pe[:, m], ps[m]
        if self.kink_max is not None:
            pe = self._refine(pos, pe, ps, e, s)
        return connected_tracks(pe, n)

    def _refine(self, pos: np.ndarray, pe: np.ndarray, ps: np.ndarray, e: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Path edges cut at kinks above ``kink_max``, then joined through edges above ``join_threshold``."""
        from hepgraph.cluster.paths import cut_kinks, join_paths

        pe = pe[:, cut_kinks(pos, pe, ps, self.kink_max)]
        if self.join_threshold is not None:
            c = s > self.join_threshold
            pe = np.concatenate([pe, join_paths(pos, pe, e[:, c], s[c], self.kink_max)], axis=1)
        return pe

    def _triplets(self, e: np.ndarray, s: np.ndarray, keep: np.ndarray, n: int,
                  inputs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``triplets`` labels and path-edge mask over the kept edges (:func:`triplet_paths`).

        Triplets are scored by the model's triplet head, else by sqrt(s1 s2) of the edge scores.
        """
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
        return triplet_paths(e[:, keep], n, t, ts)

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


def _refine_options(mode: str, kink_max: Any, join_threshold: Any) -> tuple[float | None, float | None]:
    """Checked ``kink_max`` (rad) and ``join_threshold`` (probability) of a path mode."""
    if kink_max is None:
        if join_threshold is not None:
            raise ConfigError("gnn `join_threshold` needs `kink_max` (rad), the most a join may bend a track; "
                              "give both, e.g. `kink_max=0.05`")
        return None, None
    if mode == "components":
        raise ConfigError("gnn `kink_max` / `join_threshold` refine tracks made as paths; use them with "
                          "`mode` chain, walk or triplets, not components")
    if not 0.0 < float(kink_max) <= np.pi:
        raise ConfigError(f"gnn `kink_max` is an angle in (0, pi] rad, got `{kink_max}`")
    if join_threshold is not None and not 0.0 <= float(join_threshold) <= 1.0:
        raise ConfigError(f"gnn `join_threshold` is an edge probability in [0, 1], got `{join_threshold}`")
    return float(kink_max), None if join_threshold is None else float(join_threshold)
