"""Task heads: event (pooled -> out), hit (per hit -> out) and edge (per edge -> out).

The task decides ``level`` and ``out_channels`` (classification: event logits; regression:
event mean and log-variance per target; segmentation: hit logits; edge classification: one
edge logit; object condensation: hit embedding + beta logit); the head only shapes outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LEVELS = ("event", "hit", "edge")


def mlp(channels: list[int], dropout: float = 0.0, norm: bool = False) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last).

    Args:
        channels: ``[in, hidden..., out]``.
        dropout: dropout probability after each hidden activation.
        norm: add LayerNorm after each hidden linear layer.
    """
    layers: list[nn.Module] = []
    for i in range(len(channels) - 1):
        layers.append(nn.Linear(channels[i], channels[i + 1]))
        if i < len(channels) - 2:
            if norm:
                layers.append(nn.LayerNorm(channels[i + 1]))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def pool_hits(x: Tensor, batch: Tensor, batch_size: int) -> Tensor:
    """Per-event mean and max of hit features (empty events give zeros).

    Shapes:
        - **input:** x (N, C), batch (N,)  - **output:** (B, 2C)
    """
    c = x.shape[1]
    cnt = torch.bincount(batch, minlength=batch_size).clamp(min=1).to(x.dtype).unsqueeze(1)
    mean = x.new_zeros(batch_size, c).index_add_(0, batch, x) / cnt
    mx = x.new_full((batch_size, c), float("-inf"))
    mx = mx.scatter_reduce(0, batch.unsqueeze(1).expand_as(x), x, reduce="amax", include_self=True)
    mx = torch.where(torch.isinf(mx), torch.zeros_like(mx), mx)
    return torch.cat([mean, mx], dim=1)


class EventHead(nn.Module):
    """Event-level head: an MLP on one pooled vector per event.

    Shapes:
        - **input:** (B, in_channels)  - **output:** (B, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 128,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = mlp([in_channels, hidden_channels, out_channels], dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, out)."""
        return self.mlp(x)

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels}"


class HitHead(nn.Module):
    """Hit-level head: an MLP applied to every hit embedding.

    Shapes:
        - **input:** (N, in_channels)  - **output:** (N, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = mlp([in_channels, hidden_channels, out_channels])

    def forward(self, x: Tensor) -> Tensor:
        """(N, in) -> (N, out)."""
        return self.mlp(x)

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels}"


class EdgeHead(nn.Module):
    r"""Edge-level head: an MLP on :math:`[x_i, x_j, x_i - x_j]` for each edge ``j -> i``.

    Shapes:
        - **input:** x (N, in_channels), edge_index (2, E)  - **output:** (E, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int = 1, hidden_channels: int = 64) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = mlp([3 * in_channels, hidden_channels, out_channels])

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """(N, in), (2, E) -> (E, out)."""
        xj, xi = x[edge_index[0]], x[edge_index[1]]
        return self.mlp(torch.cat([xi, xj, xi - xj], dim=1))

    def extra_repr(self) -> str:
        return f"3 x {self.in_channels} -> {self.out_channels}"
