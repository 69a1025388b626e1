"""Interaction Network edge classifier for track finding (the Exa.TrkX / HEP.TrkX GNN).

Battaglia et al. (arXiv:1612.00222); as a tracking edge classifier in DeZoort et al.
(arXiv:2103.16701). With node states :math:`x` and edge states :math:`e`:

.. math::
    e_{ij}' = e_{ij} + \\phi_R([x_i, x_j, e_{ij}]), \\qquad
    x_i' = x_i + \\phi_O([x_i, \\textstyle\\sum_{j} e_{ij}', \\sum_{k} e_{ki}'])

Edges are ``batch.edge_index`` when set (e.g. by the ``layer-graph`` transform), else the
model's ``graph`` method (default kNN, ``graph="layers"`` for the tracking construction).

YAML::

    model: {name: interaction-network, hidden_channels: 64, num_iterations: 4,
            graph: layers, graph_kwargs: {dphi: 0.1, dz: 200.0}}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp


class InteractionNetwork(HitModel):
    """Encoder, ``num_iterations`` residual interaction steps, edge (or hit) classifier.

    At edge level the head reads :math:`[x_i, x_j, e_{ij}]` (final node and edge states).

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (E, out_channels) and ``edge_index``
          (2, E), or (N, out_channels) at hit level
    """

    levels = ("hit", "edge")

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 64,
                 num_iterations: int = 4, k: int = 8, extent: Any = None, head_hidden: int = 128,
                 graph: str = "knn", graph_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden, graph, graph_kwargs or {"k": k})
        h = hidden_channels
        self.extent, self.hidden_channels, self.num_iterations = extent, h, num_iterations
        self.node_enc = mlp([in_channels + 3, h, h], norm=True)
        self.edge_enc = mlp([2 * h + 4, h, h], norm=True)
        self.edge_nets = nn.ModuleList([mlp([3 * h, h, h], norm=True) for _ in range(num_iterations)])
        self.node_nets = nn.ModuleList([mlp([3 * h, h, h], norm=True) for _ in range(num_iterations)])
        if level == "edge":
            self.head = mlp([3 * h, head_hidden, out_channels])
        else:
            self.build_head(hit_channels=h)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: edge (E, out) + edge_index, or hit (N, out)."""
        pos = normalise_pos(batch.pos, self.extent)
        ei = self.edges(batch)
        j, i = ei[0], ei[1]
        n = pos.shape[0]
        x = self.node_enc(torch.cat([batch.feats, pos], dim=1))
        d = pos[i] - pos[j]
        e = self.edge_enc(torch.cat([x[i], x[j], d, d.norm(dim=1, keepdim=True)], dim=1))
        for edge_net, node_net in zip(self.edge_nets, self.node_nets):
            e = e + edge_net(torch.cat([x[i], x[j], e], dim=1))
            inc = e.new_zeros(n, e.shape[1]).index_add_(0, i, e)
            out = e.new_zeros(n, e.shape[1]).index_add_(0, j, e)
            x = x + node_net(torch.cat([x, inc, out], dim=1))
        if self.level == "edge":
            return {"out": self.head(torch.cat([x[i], x[j], e], dim=1)), "edge_index": ei}
        return self.finish(batch, hit=x, edge_index=ei)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, hidden_channels={self.hidden_channels}, "
                f"num_iterations={self.num_iterations}, graph={self.graph!r}")


@register_model("interaction-network", family="graph", representation="graph",
                levels=InteractionNetwork.levels, cls=InteractionNetwork)
def interaction_network(**kwargs: Any) -> InteractionNetwork:
    """Interaction Network edge classifier (4 iterations x 64)."""
    return InteractionNetwork(**kwargs)
