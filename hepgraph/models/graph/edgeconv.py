"""DGCNN: EdgeConv layers with a kNN graph rebuilt in feature space at every layer.

Wang et al., "Dynamic Graph CNN for Learning on Point Clouds" (arXiv:1801.07829):

.. math::
    x_i' = \\max_{j \\in \\mathcal{N}_k(i)} h_\\Theta(x_i, x_j - x_i)

YAML::

    model: {name: edgeconv, k: 16, hidden_channels: 64, num_layers: 3}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp
from hepgraph.represent.neighbors import knn_graph


class DynamicEdgeConv(nn.Module):
    """EdgeConv (PyG) on a kNN graph of its own input features, built by our batched kNN.

    Args:
        in_channels: input features.
        out_channels: output features.
        k: neighbours (within the event).
        aggr: ``max``, ``mean`` or ``add``.

    Shapes:
        - **input:** x (N, in_channels), ptr (B+1,)  - **output:** (N, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, k: int = 16, aggr: str = "max") -> None:
        super().__init__()
        from torch_geometric.nn import EdgeConv

        self.in_channels, self.out_channels, self.k = in_channels, out_channels, k
        self.conv = EdgeConv(mlp([2 * in_channels, out_channels, out_channels]), aggr=aggr)

    def forward(self, x: Tensor, ptr: Tensor, edge_index: Tensor | None = None) -> Tensor:
        """Build the kNN graph of ``x`` (unless ``edge_index`` is given), then EdgeConv."""
        if edge_index is None:
            edge_index = knn_graph(x, ptr, self.k, backend="torch" if x.shape[1] > 8 else "auto")
        return self.conv(x, edge_index)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, k={self.k}"


class DGCNN(HitModel):
    """Dynamic graph CNN over hits: the first layer on 3D kNN, later ones on feature kNN.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        hidden_channels: width of each EdgeConv layer.
        num_layers: EdgeConv layers.
        k: neighbours per hit.
        extent: detector box (3, 2) mm, used to normalise positions.
        emb_channels: size of the per-hit embedding fed to the head.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B|N|E, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 64,
                 num_layers: int = 3, k: int = 16, extent: Any = None, emb_channels: int = 128,
                 head_hidden: int = 128, graph: str = "knn",
                 graph_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden, graph, graph_kwargs or {"k": k})
        self.k, self.extent = k, extent
        c = in_channels + 3
        self.convs = nn.ModuleList()
        for _ in range(num_layers):
            self.convs.append(DynamicEdgeConv(c, hidden_channels, k))
            c = hidden_channels
        self.lin = nn.Sequential(nn.Linear(hidden_channels * num_layers, emb_channels), nn.ReLU())
        self.build_head(hit_channels=emb_channels)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out), hit (N, out), edge (E, out)."""
        pos = normalise_pos(batch.pos, self.extent)
        x = torch.cat([batch.feats, pos], dim=1)
        first = knn_graph(batch.pos, batch.ptr, self.k)
        outs = []
        for i, conv in enumerate(self.convs):
            x = conv(x, batch.ptr, first if i == 0 else None)
            outs.append(x)
        return self.finish(batch, hit=self.lin(torch.cat(outs, dim=1)))


@register_model("edgeconv", family="graph", representation="graph", levels=DGCNN.levels, cls=DGCNN)
def edgeconv(**kwargs: Any) -> DGCNN:
    """DGCNN with dynamic EdgeConv (3 layers x 64, k=16)."""
    return DGCNN(**kwargs)
