"""GATv2: graph attention (Brody et al., arXiv:2105.14491) over a kNN graph of hits.

Uses PyG's ``GATv2Conv`` (no pyg-lib needed) on edges from ``batch.edge_index`` or the
model's ``graph`` method (default 3D kNN, k=16).

YAML::

    model: {name: gatv2, hidden_channels: 64, heads: 4, num_layers: 3, k: 16}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model


class GATv2(HitModel):
    """Residual stack of ``GATv2Conv`` layers with LayerNorm and ELU.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        hidden_channels: width (divisible by ``heads``; heads are concatenated).
        heads: attention heads.
        num_layers: attention layers.
        k: neighbours of the kNN graph.
        extent: detector box (3, 2) mm, to normalise positions.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B|N|E, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 64,
                 heads: int = 4, num_layers: int = 3, k: int = 16, extent: Any = None,
                 dropout: float = 0.0, head_hidden: int = 128, graph: str = "knn",
                 graph_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden, graph, graph_kwargs or {"k": k})
        from torch_geometric.nn import GATv2Conv

        from hepgraph.errors import ConfigError

        if hidden_channels % heads:
            raise ConfigError(
                f"hidden_channels=`{hidden_channels}` must be divisible by heads=`{heads}`"
            )
        self.extent, self.heads = extent, heads
        self.inp = nn.Linear(in_channels + 3, hidden_channels)
        self.convs = nn.ModuleList([
            GATv2Conv(hidden_channels, hidden_channels // heads, heads=heads, dropout=dropout,
                      edge_dim=4)
            for _ in range(num_layers)
        ])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden_channels) for _ in range(num_layers)])
        self.build_head(hit_channels=hidden_channels)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out), hit (N, out), edge (E, out)."""
        pos = normalise_pos(batch.pos, self.extent)
        ei = self.edges(batch)
        d = pos[ei[1]] - pos[ei[0]]
        ea = torch.cat([d, d.norm(dim=1, keepdim=True)], dim=1)
        x = self.inp(torch.cat([batch.feats, pos], dim=1))
        for conv, norm in zip(self.convs, self.norms):
            x = norm(x + nn.functional.elu(conv(x, ei, ea)))
        return self.finish(batch, hit=x, edge_index=ei)


@register_model("gatv2", family="graph", representation="graph", levels=GATv2.levels, cls=GATv2)
def gatv2(**kwargs: Any) -> GATv2:
    """GATv2 (3 layers x 64, 4 heads, k=16 kNN)."""
    return GATv2(**kwargs)
