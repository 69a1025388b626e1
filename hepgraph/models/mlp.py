"""Fully connected networks on hits: per-hit MLP, or hits pooled into event features.

Event level: a per-hit encoder, per-event mean and max pooling plus ``log(1 + n_hits)``,
then ``num_layers`` x ``hidden_channels`` fully connected layers (10 x 128 by default, as in
the muon-trigger p_T network). Hit level: the same deep MLP applied to each hit.

YAML::

    model: {name: mlp, hidden_channels: 128, num_layers: 10}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel, normalise_pos
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp, pool_hits


class HitMLP(HitModel):
    """MLP on hit features and normalised positions.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        hidden_channels: width of every layer.
        num_layers: fully connected layers of the trunk.
        hit_channels: width of the per-hit encoder (event level).
        extent: detector box (3, 2) mm, to normalise positions.
        dropout: dropout after each hidden layer.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B, out) or (N, out)
    """

    levels = ("event", "hit")

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 128,
                 num_layers: int = 10, hit_channels: int = 64, extent: Any = None,
                 dropout: float = 0.0) -> None:
        super().__init__(in_channels, out_channels, level, hidden_channels)
        self.extent, self.num_layers, self.hidden_channels = extent, num_layers, hidden_channels
        c_in = in_channels + 3
        if level == "event":
            self.encoder = mlp([c_in, hit_channels, hit_channels])
            c_in = 2 * hit_channels + 1
        self.trunk = mlp([c_in] + [hidden_channels] * num_layers, dropout=dropout)
        self.trunk.append(torch.nn.ReLU())
        self.head = mlp([hidden_channels, out_channels])

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out) or hit (N, out)."""
        x = torch.cat([batch.feats, normalise_pos(batch.pos, self.extent)], dim=1)
        if self.level == "event":
            pooled = pool_hits(self.encoder(x), batch.batch, batch.batch_size)
            n = torch.log1p(batch.counts.to(x.dtype)).unsqueeze(1)
            x = torch.cat([pooled, n], dim=1)
        return {"out": self.head(self.trunk(x))}

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, num_layers={self.num_layers}, "
                f"hidden_channels={self.hidden_channels}")


@register_model("mlp", family="mlp", representation="points", levels=HitMLP.levels, cls=HitMLP)
def hit_mlp(**kwargs: Any) -> HitMLP:
    """10 x 128 MLP (event: on pooled hit features; hit: per hit)."""
    return HitMLP(**kwargs)
