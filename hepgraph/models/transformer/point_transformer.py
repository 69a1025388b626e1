"""Point Transformer: vector self-attention over kNN neighbourhoods with a learned
relative positional encoding (Zhao et al., arXiv:2012.09164).

.. math::
    y_i = \\sum_{j \\in \\mathcal{N}_k(i)} \\mathrm{softmax}_j\\big(\\gamma(q_i - k_j + \\delta_{ij})\\big)
          \\odot (v_j + \\delta_{ij}), \\qquad \\delta_{ij} = \\theta(p_i - p_j)

The softmax is per channel over each hit's neighbours (the hit itself included), so events
with fewer than ``k`` hits work; neighbourhoods come from our batched kNN (never across events).

YAML::

    model: {name: point-transformer, hidden_channels: 64, num_layers: 4, k: 16}
"""

from __future__ import annotations

from typing import Any

import torch
import torch.utils.checkpoint
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp
from hepgraph.represent.neighbors import knn_graph


class PointTransformerLayer(nn.Module):
    """Vector attention over the edges ``j -> i`` of a neighbourhood graph.

    Shapes:
        - **input:** x (N, C), pos (N, 3), edge_index (2, E)  - **output:** (N, C)
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.lin_q = nn.Linear(channels, channels)
        self.lin_k = nn.Linear(channels, channels)
        self.lin_v = nn.Linear(channels, channels)
        self.pos_nn = mlp([3, channels, channels])
        self.attn_nn = mlp([channels, channels, channels])

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        """Attention-weighted sum of neighbour values plus positional encodings."""
        from torch_geometric.utils import softmax

        j, i = edge_index[0], edge_index[1]
        delta = self.pos_nn(pos[i] - pos[j])  # (E, C)
        a = self.attn_nn(self.lin_q(x)[i] - self.lin_k(x)[j] + delta)  # (E, C)
        a = softmax(a, i, num_nodes=x.shape[0])
        msg = a * (self.lin_v(x)[j] + delta)  # (E, C); autocast dtype under AMP
        return msg.new_zeros((x.shape[0], msg.shape[1])).index_add_(0, i, msg)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class PointTransformerBlock(nn.Module):
    """Linear -> attention -> Linear with a residual connection and LayerNorm."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lin_in = nn.Linear(channels, channels)
        self.attn = PointTransformerLayer(channels)
        self.lin_out = nn.Linear(channels, channels)
        self.norm = nn.LayerNorm(channels)
        self.channels = channels

    def extra_repr(self) -> str:
        return f"channels={self.channels}"

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        """Residual attention block; shapes (N, C) -> (N, C)."""
        h = self.attn(torch.relu(self.lin_in(x)), pos, edge_index)
        return self.norm(x + self.lin_out(torch.relu(h)))


class PointTransformer(HitModel):
    """Point Transformer over hits.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        hidden_channels: width.
        num_layers: attention blocks.
        k: neighbourhood size (including the hit itself).
        extent: detector box (3, 2) mm, to normalise positions.
        checkpoint: in training, keep only each block's input and recompute the block's
            per-edge tensors (about ten (E, C) tensors per block) in the backward pass:
            peak memory of one block instead of all, for about a third more compute.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B|N|E, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 64,
                 num_layers: int = 4, k: int = 16, extent: Any = None, head_hidden: int = 128,
                 graph: str = "knn", graph_kwargs: dict[str, Any] | None = None,
                 checkpoint: bool = True) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden, graph, graph_kwargs or {"k": k})
        self.k, self.extent, self.checkpoint = k, extent, checkpoint
        self.inp = mlp([in_channels + 3, hidden_channels, hidden_channels])
        self.blocks = nn.ModuleList([PointTransformerBlock(hidden_channels) for _ in range(num_layers)])
        self.build_head(hit_channels=hidden_channels)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out), hit (N, out), edge (E, out)."""
        pos = normalise_pos(batch.pos, self.extent)
        ei = knn_graph(batch.pos, batch.ptr, self.k, loop=True)
        x = self.inp(torch.cat([batch.feats, pos], dim=1))
        recompute = self.checkpoint and self.training and torch.is_grad_enabled()
        for blk in self.blocks:
            if recompute:
                x = torch.utils.checkpoint.checkpoint(blk, x, pos, ei, use_reentrant=False)
            else:
                x = blk(x, pos, ei)
        return self.finish(batch, hit=x)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}" + ("" if self.checkpoint else ", checkpoint=False")


@register_model("point-transformer", family="transformer", representation="points",
                levels=PointTransformer.levels, cls=PointTransformer)
def point_transformer(**kwargs: Any) -> PointTransformer:
    """Point Transformer (4 blocks x 64, k=16)."""
    return PointTransformer(**kwargs)
