"""Conditioned 1D convolution networks over a track's slot sequence (shared by the generators).

:class:`SeqNet` maps a (B, C_in, L) sequence to (B, C_out, L) with residual blocks of
dilated convolutions (dilations 1, 2, 4, ... so the receptive field covers the whole
track) whose normalised activations are scaled and shifted by the condition embedding
(FiLM, Perez et al. 2018, https://arxiv.org/abs/1709.07871), plus sinusoidal features of
the slot position.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["FiLMBlock", "SeqNet", "sinusoidal"]


def sinusoidal(x: Tensor, dim: int, max_period: float = 1000.0) -> Tensor:
    """(N, dim) sine/cosine features of scalars x (N,) in about [0, 1] (time or position)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=x.device, dtype=torch.float32) / half)
    ang = x.float()[:, None] * freqs[None, :] * max_period
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)


class FiLMBlock(nn.Module):
    """Residual block: conv -> GroupNorm -> FiLM(embedding) -> SiLU -> conv, plus the input.

    Shapes:
        - **x:** (B, C, L)  - **emb:** (B, E)  - **output:** (B, C, L)
    """

    def __init__(self, channels: int, emb_channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.GroupNorm(min(8, channels), channels)
        self.film = nn.Linear(emb_channels, 2 * channels)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.dilation = dilation
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """Shapes: (B, C, L), (B, E) -> (B, C, L)."""
        h = self.norm(self.conv1(x))
        scale, shift = self.film(emb).unsqueeze(-1).chunk(2, dim=1)
        h = torch.nn.functional.silu(h * (1 + scale) + shift)
        return x + self.conv2(h)

    def extra_repr(self) -> str:
        return f"dilation={self.dilation}"


class SeqNet(nn.Module):
    """Dilated residual FiLM network over slots.

    Args:
        in_channels: input channels per slot.
        out_channels: output channels per slot.
        hidden_channels: width.
        emb_channels: size of the conditioning embedding.
        num_blocks: residual blocks (dilations cycle 1, 2, 4, ..., 32).
        pos_channels: sinusoidal features of the slot position appended to the input.

    Shapes:
        - **x:** (B, C_in, L)  - **emb:** (B, E)  - **output:** (B, C_out, L)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64, emb_channels: int = 64,
                 num_blocks: int = 8, pos_channels: int = 16) -> None:
        super().__init__()
        self.pos_channels = pos_channels
        self.inp = nn.Conv1d(in_channels + pos_channels, hidden_channels, 1)
        self.blocks = nn.ModuleList(FiLMBlock(hidden_channels, emb_channels, 2 ** (i % 6)) for i in range(num_blocks))
        self.out = nn.Conv1d(hidden_channels, out_channels, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """Shapes: (B, C_in, L), (B, E) -> (B, C_out, L)."""
        b, _, length = x.shape
        pos = sinusoidal(torch.arange(length, device=x.device) / max(length, 1), self.pos_channels, 100.0)
        h = self.inp(torch.cat([x, pos.t().unsqueeze(0).expand(b, -1, -1).to(x.dtype)], dim=1))
        for blk in self.blocks:
            h = blk(h, emb)
        return self.out(h)
