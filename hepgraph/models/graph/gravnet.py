"""GravNet: message passing over a kNN graph in a learned latent space.

Qasim et al., "Learning representations of irregular particle-detector geometry with
distance-weighted graph networks" (arXiv:1902.07987). Our own layer, because PyG's
``GravNetConv`` needs pyg-lib for its kNN:

.. math::
    s_i = W_s x_i, \\quad h_i = W_h x_i, \\quad w_{ij} = \\exp(-10\\,\\|s_i - s_j\\|^2),

    x_i' = W_1 x_i + W_2 [\\mathrm{mean}_j w_{ij} h_j, \\max_j w_{ij} h_j]

YAML::

    model: {name: gravnet, hidden_channels: 64, num_layers: 4, space_dimensions: 4, k: 16}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.represent.neighbors import knn_graph


class GravNetConv(nn.Module):
    """One GravNet layer (see module docstring); kNN never crosses events.

    Shapes:
        - **input:** x (N, in_channels), ptr (B+1,)  - **output:** (N, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, space_dimensions: int = 4,
                 propagate_dimensions: int = 22, k: int = 16) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.k = in_channels, out_channels, k
        self.lin_s = nn.Linear(in_channels, space_dimensions)
        self.lin_h = nn.Linear(in_channels, propagate_dimensions)
        self.lin_out1 = nn.Linear(in_channels, out_channels, bias=False)
        self.lin_out2 = nn.Linear(2 * propagate_dimensions, out_channels)

    def forward(self, x: Tensor, ptr: Tensor) -> Tensor:
        """Learned-space kNN, distance-weighted mean and max aggregation."""
        s, h = self.lin_s(x), self.lin_h(x)
        ei = knn_graph(s, ptr, self.k)  # (2, E), j -> i, built without gradient
        j, i = ei[0], ei[1]
        w = torch.exp(-10.0 * (s[i] - s[j]).pow(2).sum(-1, keepdim=True))  # differentiable in s
        msg = h[j] * w
        n = x.shape[0]
        # Accumulate in the messages' dtype (bf16/fp16 under autocast, not the input's).
        cnt = torch.bincount(i, minlength=n).clamp(min=1).to(msg.dtype).unsqueeze(1)
        mean = msg.new_zeros(n, h.shape[1]).index_add_(0, i, msg) / cnt
        mx = msg.new_zeros(n, h.shape[1]).scatter_reduce(
            0, i.unsqueeze(1).expand_as(msg), msg, reduce="amax", include_self=False
        )
        return self.lin_out1(x) + self.lin_out2(torch.cat([mean, mx], dim=1))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, k={self.k}"


class GravNet(HitModel):
    """Stack of GravNet blocks (GravNetConv -> Linear+ELU -> LayerNorm), outputs concatenated.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        hidden_channels: width of each block.
        num_layers: blocks.
        space_dimensions: latent space of the kNN.
        k: neighbours.
        extent: detector box (3, 2) mm, to normalise positions.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B|N|E, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 64,
                 num_layers: int = 4, space_dimensions: int = 4, k: int = 16, extent: Any = None,
                 head_hidden: int = 128, graph: str = "knn",
                 graph_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden, graph, graph_kwargs or {"k": k})
        self.extent = extent
        self.inp = nn.Sequential(nn.Linear(in_channels + 3, hidden_channels), nn.ELU())
        self.blocks = nn.ModuleList()
        for _ in range(num_layers):
            self.blocks.append(nn.ModuleDict({
                "conv": GravNetConv(hidden_channels, hidden_channels, space_dimensions,
                                    hidden_channels // 2, k),
                "post": nn.Sequential(nn.Linear(hidden_channels, hidden_channels), nn.ELU(),
                                      nn.LayerNorm(hidden_channels)),
            }))
        self.build_head(hit_channels=hidden_channels * num_layers)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out), hit (N, out), edge (E, out)."""
        x = self.inp(torch.cat([batch.feats, normalise_pos(batch.pos, self.extent)], dim=1))
        outs = []
        for blk in self.blocks:
            x = blk["post"](blk["conv"](x, batch.ptr))
            outs.append(x)
        return self.finish(batch, hit=torch.cat(outs, dim=1))


@register_model("gravnet", family="graph", representation="graph", levels=GravNet.levels, cls=GravNet)
def gravnet(**kwargs: Any) -> GravNet:
    """GravNet (4 blocks x 64, 4-d latent space, k=16)."""
    return GravNet(**kwargs)
