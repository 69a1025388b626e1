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


# Edges per chunk of the attention (by destination hit): bounds the per-edge tensors
# (about twenty (E, C) tensors live in one chunk's forward and backward).
EDGE_CHUNK = 2**16


class PointTransformerLayer(nn.Module):
    """Vector attention over the edges ``j -> i`` of a neighbourhood graph.

    Edges are processed in chunks of whole neighbourhoods (at most about ``EDGE_CHUNK``
    edges). With ``checkpoint`` (in training) each chunk keeps only its inputs and is
    recomputed in the backward pass, so the per-edge tensors of one chunk are alive at a
    time instead of those of every edge of every layer.

    Args:
        channels: C.
        checkpoint: recompute each chunk in the backward pass (training only).

    Shapes:
        - **input:** x (N, C), pos (N, 3), edge_index (2, E)  - **output:** (N, C)
    """

    def __init__(self, channels: int, checkpoint: bool = True) -> None:
        super().__init__()
        self.channels = channels
        self.checkpoint = checkpoint
        self.lin_q = nn.Linear(channels, channels)
        self.lin_k = nn.Linear(channels, channels)
        self.lin_v = nn.Linear(channels, channels)
        self.pos_nn = mlp([3, channels, channels])
        self.attn_nn = mlp([channels, channels, channels])

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, pos: Tensor, j: Tensor, i: Tensor,
                lo: int, n: int) -> Tensor:
        """Output rows ``[lo, lo + n)`` from their incoming edges (``i`` local to ``lo``)."""
        from torch_geometric.utils import softmax

        gi = i + lo
        delta = self.pos_nn(pos[gi] - pos[j])  # (E, C)
        a = self.attn_nn(q[gi] - k[j] + delta)  # (E, C)
        a = softmax(a, i, num_nodes=n)
        msg = a * (v[j] + delta)  # (E, C); autocast dtype under AMP
        return msg.new_zeros((n, msg.shape[1])).index_add_(0, i, msg)

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor) -> Tensor:
        """Attention-weighted sum of neighbour values plus positional encodings."""
        j, i = edge_index[0], edge_index[1]
        if i.numel() and not bool((i[1:] >= i[:-1]).all()):  # chunks need edges sorted by i
            order = torch.argsort(i, stable=True)
            j, i = j[order], i[order]
        q, k, v = self.lin_q(x), self.lin_k(x), self.lin_v(x)  # (N, C) each
        n = x.shape[0]
        if torch.jit.is_tracing() or n == 0:  # export: one chunk (chunk bounds are Python
            return self._attend(q, k, v, pos, j, i, 0, n)  # ints a trace would freeze)
        # node boundaries so that each chunk holds whole neighbourhoods, ~EDGE_CHUNK edges
        starts = torch.searchsorted(i, torch.arange(n + 1, device=i.device))  # (N+1,) edge ptr
        cuts = torch.searchsorted(starts, torch.arange(0, i.numel(), EDGE_CHUNK, device=i.device))
        bounds = sorted({0, n, *[min(int(c), n) for c in cuts.tolist()]})
        edge_at = starts[torch.tensor(bounds, device=i.device)].tolist()
        recompute = self.checkpoint and self.training and torch.is_grad_enabled()
        outs = []
        for (lo, hi), (e0, e1) in zip(zip(bounds, bounds[1:]), zip(edge_at, edge_at[1:])):
            args = (q, k, v, pos, j[e0:e1], i[e0:e1] - lo, lo, hi - lo)
            if recompute:
                outs.append(torch.utils.checkpoint.checkpoint(self._attend, *args,
                                                              use_reentrant=False))
            else:
                outs.append(self._attend(*args))
        return torch.cat(outs) if len(outs) != 1 else outs[0]

    def extra_repr(self) -> str:
        return f"channels={self.channels}" + ("" if self.checkpoint else ", checkpoint=False")


class PointTransformerBlock(nn.Module):
    """Linear -> attention -> Linear with a residual connection and LayerNorm."""

    def __init__(self, channels: int, checkpoint: bool = True) -> None:
        super().__init__()
        self.lin_in = nn.Linear(channels, channels)
        self.attn = PointTransformerLayer(channels, checkpoint)
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
        checkpoint: in training, keep only the inputs of each chunk of ~``EDGE_CHUNK`` edges
            of the attention and recompute its per-edge tensors (about twenty (E, C) per
            chunk) in the backward pass: peak memory of one chunk instead of every edge of
            every block, for one more forward pass of the attention.

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
        self.blocks = nn.ModuleList([PointTransformerBlock(hidden_channels, checkpoint)
                                     for _ in range(num_layers)])
        self.build_head(hit_channels=hidden_channels)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out), hit (N, out), edge (E, out)."""
        pos = normalise_pos(batch.pos, self.extent)
        ei = knn_graph(batch.pos, batch.ptr, self.k, loop=True)
        x = self.inp(torch.cat([batch.feats, pos], dim=1))
        for blk in self.blocks:
            x = blk(x, pos, ei)
        return self.finish(batch, hit=x)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}" + ("" if self.checkpoint else ", checkpoint=False")


@register_model("point-transformer", family="transformer", representation="points",
                levels=PointTransformer.levels, cls=PointTransformer)
def point_transformer(**kwargs: Any) -> PointTransformer:
    """Point Transformer (4 blocks x 64, k=16)."""
    return PointTransformer(**kwargs)
