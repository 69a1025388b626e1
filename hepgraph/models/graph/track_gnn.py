"""The tracking GNN: a graph built from the training data, an interaction network, triplets.

The Exa.TrkX / ACORN chain in one model, with nothing tuned to a detector:

1. **Graph construction**, learned in :meth:`TrackGNN.prepare` (called by ``hepgraph
   train`` before the first step) from the training split's truth: a
   :class:`~hepgraph.represent.module_map.ModuleMap` (which cells real tracks connect, with
   coordinate windows; ``graph: module-map``) or a metric-learning embedding with a radius
   graph (:class:`~hepgraph.represent.metric_graph.MetricGraph`, ``graph: metric``), then
   an :class:`~hepgraph.represent.edge_filter.EdgeFilter` whose threshold keeps
   ``filter_keep`` of the true segments of held-out events. The edge efficiency and purity
   of the result (the ceiling of everything after it) are logged and kept in
   :attr:`TrackGNN.graph_report`. Both parts live in the state dict, so a checkpoint
   carries its graph construction. Before ``prepare`` the model falls back to a kNN graph.
2. **Edge classification**: an interaction network (Battaglia et al. 2016; DeZoort et al.
   2021) over hit and edge states, the edge head giving one logit per edge (a true segment:
   consecutive hits of one particle, see ``task.truth: segment``).
3. **Triplets**: for every pair of edges a -> b -> c through a hit whose edge scores pass
   ``triplet_min_score``, a second head scores whether a, b, c are consecutive hits of one
   particle, so track building can follow two tracks through a hit they share
   (:func:`hepgraph.cluster.graph.triplet_tracks`).

YAML::

    model: {name: track-gnn, hidden_channels: 32, num_iterations: 4, graph: module-map}
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp
from hepgraph.represent.edge_filter import NUM_FEATURES, EdgeFilter, edge_features

log = logging.getLogger(__name__)

GRAPHS = ("module-map", "metric")


def triplet_candidates(edge_index: Tensor, num_hits: int, mask: Tensor | None = None) -> Tensor:
    """(2, T) pairs of edge indices (e1: a -> b, e2: b -> c) meeting at a hit, with a != c.

    Args:
        edge_index: (2, E) directed edges.
        num_hits: N.
        mask: (E,) edges allowed in a triplet (default all).
    """
    dev = edge_index.device
    idx = torch.arange(edge_index.shape[1], device=dev)
    if mask is not None:
        idx = idx[mask]
    if idx.numel() == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=dev)
    head, tail = edge_index[1, idx], edge_index[0, idx]
    out_order = torch.argsort(tail)
    out_sorted = idx[out_order]
    out_deg = torch.bincount(tail, minlength=num_hits)
    start = torch.cumsum(out_deg, 0) - out_deg
    cnt = out_deg[head]                                   # out-edges at the head of each in-edge
    e1 = torch.repeat_interleave(idx, cnt)
    offs = torch.arange(int(cnt.sum()), device=dev) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
    e2 = out_sorted[torch.repeat_interleave(start[head], cnt) + offs]
    ok = edge_index[0, e1] != edge_index[1, e2]
    return torch.stack([e1[ok], e2[ok]])


def triplet_geometry(pos: Tensor, edge_index: Tensor, trip: Tensor) -> Tensor:
    """(T, 4) kink features of triplets a -> b -> c.

    The cos of the 3D kink, the transverse and longitudinal angle changes (rad), and the log
    length ratio of the two segments.
    """
    a, b = pos[edge_index[0, trip[0]]], pos[edge_index[1, trip[0]]]
    c = pos[edge_index[1, trip[1]]]
    d1, d2 = b - a, c - b
    n1, n2 = d1.norm(dim=1).clamp(min=1e-6), d2.norm(dim=1).clamp(min=1e-6)
    cos = (d1 * d2).sum(1) / (n1 * n2)
    dphi = torch.atan2(d2[:, 1], d2[:, 0]) - torch.atan2(d1[:, 1], d1[:, 0])
    dphi = torch.remainder(dphi + torch.pi, 2 * torch.pi) - torch.pi
    dth = torch.atan2(torch.hypot(d2[:, 0], d2[:, 1]), d2[:, 2]) - torch.atan2(torch.hypot(d1[:, 0], d1[:, 1]), d1[:, 2])
    return torch.stack([cos, dphi, dth, torch.log(n2 / n1)], 1)


class TrackGNN(HitModel):
    """Learned graph construction + interaction network + triplet head (module docstring).

    Args:
        in_channels, out_channels, level: from the feature spec and the task (edge level).
        hidden_channels: hit and edge state size.
        num_iterations: message-passing steps.
        head_hidden: hidden width of the edge and triplet heads.
        extent: detector extent (mm) for position scaling.
        graph: ``module-map`` or ``metric`` (the construction learned in :meth:`prepare`).
        graph_kwargs: arguments of that construction (``ModuleMap`` / ``MetricGraph``).
        filter_keep: fraction of true held-out segments the edge filter keeps (1 = no filter).
        fit_events: training events used by :meth:`prepare`.
        triplets: score triplets (a second head) for track building through shared hits.
        triplet_min_score: edges below this score (sigmoid) take part in no triplet.
        max_triplets_per_hit: at most this many triplets per hit are scored (the best by
            their lower edge score; bounds the cost while the edge scores are still poor).
        cache_events: graphs of this many events are kept (training revisits them each epoch).

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (E, out_channels), ``edge_index`` (2, E),
          ``triplets`` (2, T) edge pairs, ``triplet_out`` (T,) logits
    """

    levels = ("edge",)
    #: edges point in the direction of travel (track building may follow them)
    directed_edges = True

    def __init__(self, in_channels: int, out_channels: int, level: str = "edge", hidden_channels: int = 32,
                 num_iterations: int = 4, head_hidden: int = 32, extent: Any = None, graph: str = "module-map",
                 graph_kwargs: dict[str, Any] | None = None, filter_keep: float = 0.999, fit_events: int = 300,
                 triplets: bool = True, triplet_min_score: float = 0.1, max_triplets_per_hit: int = 4,
                 cache_events: int = 2000) -> None:
        if graph not in GRAPHS:
            raise ConfigError(f"track-gnn `graph` = `{graph}` is unknown; use one of {', '.join(GRAPHS)}")
        if not 0.0 < filter_keep <= 1.0:
            raise ConfigError(f"track-gnn `filter_keep` = `{filter_keep}` must be in (0, 1]")
        super().__init__(in_channels, out_channels, level, head_hidden, graph, dict(graph_kwargs or {}))
        self.graph_kwargs = dict(graph_kwargs or {})
        h = hidden_channels
        self.hidden_channels, self.num_iterations, self.extent = h, num_iterations, extent
        self.filter_keep, self.fit_events = float(filter_keep), int(fit_events)
        self.use_triplets, self.triplet_min_score = bool(triplets), float(triplet_min_score)
        self.max_triplets_per_hit = int(max_triplets_per_hit)
        self.cache_events = int(cache_events)
        self.builder = self._make_builder()
        self.filter = EdgeFilter()
        self.node_enc = mlp([in_channels + 6, h, h], norm=True)
        self.edge_enc = mlp([2 * h + NUM_FEATURES, h, h], norm=True)
        self.edge_nets = nn.ModuleList([mlp([3 * h, h, h], norm=True) for _ in range(num_iterations)])
        self.node_nets = nn.ModuleList([mlp([3 * h, h, h], norm=True) for _ in range(num_iterations)])
        self.head = mlp([3 * h, head_hidden, out_channels])
        self.triplet_head = mlp([5 * h + 4, head_hidden, head_hidden, 1]) if triplets else None
        self.graph_report: dict[str, float] = {}
        self._cache: OrderedDict[tuple[int, int, float], Tensor] = OrderedDict()

    def _make_builder(self) -> nn.Module:
        if self.graph == "module-map":
            from hepgraph.represent.module_map import ModuleMap

            return ModuleMap(**self.graph_kwargs)
        from hepgraph.represent.metric_graph import MetricGraph

        return MetricGraph(**self.graph_kwargs)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, hidden_channels={self.hidden_channels}, "
                f"num_iterations={self.num_iterations}, graph={self.graph!r}, triplets={self.use_triplets}")

    def get_extra_state(self) -> dict[str, Any]:
        """The graph report (floats) travels with the weights."""
        return {"graph_report": {k: float(v) for k, v in self.graph_report.items()}}

    def set_extra_state(self, state: Any) -> None:
        """Restore :meth:`get_extra_state`."""
        self.graph_report = dict((state or {}).get("graph_report", {}))

    @property
    def data_columns(self) -> tuple[str, ...]:
        """The layer id columns the graph construction reads."""
        return tuple(getattr(self.builder, "layer_columns", ()))

    # ------------------------------------------------------------------ graph construction
    def prepare(self, train: Any, val: Any | None = None) -> dict[str, float]:
        """Learn the graph construction from training events with truth; measure it on ``val``.

        Args:
            train: the training dataset (event dicts with ``track_id``).
            val: held-out events for the filter threshold and the report (default: the
                last fifth of the training events used).

        Returns:
            The graph report: edge efficiency (true segments kept), purity, edges per hit,
            before and after the filter.
        """
        from hepgraph.represent.graph_report import construction_report, labelled_edges

        n = min(len(train), self.fit_events)
        events = [train[i] for i in range(n)]
        manifest = getattr(train, "manifest", {}) or {}
        geometry = (manifest.get("extra") or {}).get("tracker_geometry")
        geometry = geometry if isinstance(geometry, Mapping) else None
        builder = self._builder_fit(events, geometry)
        self.builder = builder
        held = [val[i] for i in range(min(len(val), 40))] if val is not None and len(val) else events[-max(n // 5, 1):]
        fit_on = events if val is not None and len(val) else events[: n - len(held)]
        report: dict[str, float] = {}
        if self.filter_keep < 1.0:
            nf = min(len(fit_on), 100)
            samples = [labelled_edges(self.raw_edges, e) for e in fit_on[:nf]]
            held_s = [labelled_edges(self.raw_edges, e) for e in held]
            stats = self.filter.fit(samples, held_s, keep=self.filter_keep)
            report.update({f"filter_{k}": v for k, v in stats.items()})
        else:
            self.filter.fit([labelled_edges(self.raw_edges, e) for e in fit_on[:5]], [], keep=1.0)
        self._cache.clear()
        report.update(construction_report(self.event_edges, held))
        self.graph_report = report
        log.info("graph construction (%s) on %d held-out events: %s", self.graph, len(held),
                 ", ".join(f"{k} {v:.4g}" for k, v in report.items()))
        return report

    def _builder_fit(self, events: list[Mapping[str, Any]], geometry: Mapping[str, Any] | None) -> nn.Module:
        if self.graph == "module-map":
            from hepgraph.represent.module_map import ModuleMap

            return ModuleMap.fit(events, geometry, **self.graph_kwargs)
        from hepgraph.represent.metric_graph import MetricGraph

        return MetricGraph.fit(events, **self.graph_kwargs)

    def raw_edges(self, pos: Tensor, ptr: Tensor, key: Tensor | None) -> Tensor:
        """Edges of the learned construction before the filter."""
        return self.builder(pos, ptr, key)

    def event_edges(self, event: Mapping[str, Any]) -> Tensor:
        """(2, E) filtered edges of one event dict (for reports)."""
        from hepgraph.represent.graph_report import event_tensors

        pos, key = event_tensors(event, self.data_columns)
        ei = self.raw_edges(pos, torch.tensor([0, pos.shape[0]]), key)
        return self.filter.select(pos, ei)

    def edges(self, batch: HitBatch) -> Tensor:
        """The learned graph of the batch (kNN before :meth:`prepare`); cached per event."""
        if not getattr(self.builder, "fitted", False):
            from hepgraph.represent.graph import build_edges

            return build_edges(batch, "knn", k=8)
        cols = self.data_columns
        parts = []
        ptr = batch.ptr.tolist()
        for b in range(batch.batch_size):
            s, e = ptr[b], ptr[b + 1]
            pos = batch.pos[s:e]
            ck = (int(batch.event_id[b]), e - s, float(pos.double().sum()))
            ei = self._cache.get(ck)
            if ei is None:
                key = None
                if cols:
                    from hepgraph.events.geometry import KEY_STRIDE

                    key = torch.zeros(e - s, dtype=torch.long, device=pos.device)
                    for c in cols:
                        key = key * KEY_STRIDE + batch.hit[c][s:e].long()
                with torch.no_grad():
                    ei = self.filter.select(pos, self.raw_edges(pos, torch.tensor([0, e - s]), key))
                ei = ei.to(torch.int32)
                if self.cache_events > 0:
                    self._cache[ck] = ei
                    while len(self._cache) > self.cache_events:
                        self._cache.popitem(last=False)
            parts.append(ei.long() + s)
        if not parts:
            return torch.zeros(2, 0, dtype=torch.long, device=batch.pos.device)
        return torch.cat(parts, 1).to(batch.pos.device)

    # ------------------------------------------------------------------ network
    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Edge logits (and triplet logits) on the learned graph."""
        pos = batch.pos
        p = normalise_pos(pos, self.extent)
        ei = self.edges(batch)
        j, i = ei[0], ei[1]
        n = pos.shape[0]
        phi = torch.atan2(pos[:, 1], pos[:, 0])
        rn = torch.hypot(p[:, 0], p[:, 1])                     # transverse radius / half-extent
        x = self.node_enc(torch.cat([batch.feats, p, rn.unsqueeze(1), torch.cos(phi).unsqueeze(1),
                                     torch.sin(phi).unsqueeze(1)], 1))
        ef = (edge_features(pos, ei) - self.filter.mean) / self.filter.std
        e = self.edge_enc(torch.cat([x[j], x[i], ef], 1))
        for edge_net, node_net in zip(self.edge_nets, self.node_nets, strict=True):
            e = e + edge_net(torch.cat([x[j], x[i], e], 1))
            inc = e.new_zeros(n, e.shape[1]).index_add_(0, i, e)
            out = e.new_zeros(n, e.shape[1]).index_add_(0, j, e)
            x = x + node_net(torch.cat([x, inc, out], 1))
        logits = self.head(torch.cat([x[j], x[i], e], 1))
        res = {"out": logits, "edge_index": ei}
        if self.triplet_head is not None:
            score = torch.sigmoid(logits[:, 0].detach())
            trip = triplet_candidates(ei, n, score > self.triplet_min_score)
            cap = self.max_triplets_per_hit * max(n, 1)
            if trip.shape[1] > cap:                             # early training: keep the best
                keep = torch.minimum(score[trip[0]], score[trip[1]]).topk(cap).indices
                trip = trip[:, torch.sort(keep).values]
            b = ei[1, trip[0]]
            tin = torch.cat([x[b], e[trip[0]], e[trip[1]], x[ei[0, trip[0]]] - x[ei[1, trip[1]]],
                             x[ei[1, trip[1]]] + x[ei[0, trip[0]]], triplet_geometry(pos, ei, trip)], 1)
            res["triplets"] = trip
            res["triplet_out"] = self.triplet_head(tin).squeeze(1)
        return res


@register_model("track-gnn", family="graph", representation="graph", levels=TrackGNN.levels, cls=TrackGNN)
def track_gnn(**kwargs: Any) -> TrackGNN:
    """Tracking GNN: learned graph (module map + filter), interaction network, triplet head."""
    return TrackGNN(**kwargs)
