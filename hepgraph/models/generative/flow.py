"""Conditional flow matching on a track's slot sequence (the modern baseline of the generators).

Flow matching (Lipman et al. 2023, https://arxiv.org/abs/2210.02747) learns a velocity field
that carries Gaussian noise ``x_0`` to data ``x_1`` along straight paths
``x_t = (1 - t) x_0 + t x_1``: the network ``v(x_t, t, c)`` is regressed on ``x_1 - x_0``

.. math::
    L = E_{t, x_0, x_1} \\| v_\\theta(x_t, t, c) - (x_1 - x_0) \\|^2 ,

and sampling integrates ``dx/dt = v`` from noise (``steps`` Euler steps). The data are
the standardised values of every slot plus a presence channel (+1 cluster, -1 none);
a sample has a cluster where the presence ends positive.

YAML::

    model: {name: flow-matching, hidden_channels: 64, num_blocks: 8, steps: 32}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.models.factory import register_model
from hepgraph.models.generative.base import COND_DIM, TrackGenerator
from hepgraph.models.generative.nets import SeqNet, sinusoidal

__all__ = ["FlowMatchingGenerator"]


class FlowMatchingGenerator(TrackGenerator):
    """Conditional flow matching over slots (see the module docstring).

    Args:
        in_channels, out_channels, level, index, values, fit_events, baseline: see
            :class:`TrackGenerator`.
        hidden_channels: width of the network.
        num_blocks: residual FiLM blocks.
        steps: Euler steps when sampling.

    Shapes:
        - **input:** HitBatch  - **output:** ``loss_event`` (B,) (and samples in eval mode)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str = "generate", hidden_channels: int = 64,
                 num_blocks: int = 8, steps: int = 32, index: str = "auto",
                 values: Sequence[str] = ("x", "y", "z", "charge"), fit_events: int = 5000,
                 baseline: str = "quadratic") -> None:
        super().__init__(in_channels, out_channels, level, index, values, fit_events, baseline)
        c = self.num_values + 1
        self.hidden_channels, self.steps = hidden_channels, int(steps)
        self.cond_net = nn.Sequential(nn.Linear(COND_DIM, hidden_channels), nn.SiLU(),
                                      nn.Linear(hidden_channels, hidden_channels))
        self.time_net = nn.Sequential(nn.Linear(32, hidden_channels), nn.SiLU(),
                                      nn.Linear(hidden_channels, hidden_channels))
        self.net = SeqNet(c, c, hidden_channels, hidden_channels, num_blocks)

    def velocity(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """v(x_t, t, c). Shapes: (B, V+1, L), (B,), (B, 9) -> (B, V+1, L)."""
        emb = self.cond_net(cond) + self.time_net(sinusoidal(t, 32, 1.0))
        return self.net(x, emb)

    def loss(self, cond: Tensor, seq: Tensor, mask: Tensor) -> Tensor:
        x1 = torch.cat([seq, mask.unsqueeze(1).to(seq.dtype) * 2 - 1], dim=1)          # (B, V+1, L)
        x0 = torch.randn_like(x1)
        t = torch.rand(x1.shape[0], device=x1.device)
        xt = (1 - t)[:, None, None] * x0 + t[:, None, None] * x1
        err = (self.velocity(xt, t, cond) - (x1 - x0)) ** 2
        return err.mean(dim=(1, 2))

    def sample(self, cond: Tensor, noise: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        b, c, length = cond.shape[0], self.num_values + 1, self.codec.length
        x = torch.stack([torch.randn(c, length, generator=g) for g in noise]).to(cond.device) if b else \
            torch.zeros(0, c, length, device=cond.device)
        dt = 1.0 / self.steps
        for i in range(self.steps):
            t = torch.full((b,), i * dt, device=cond.device)
            x = x + dt * self.velocity(x, t, cond)
        return x[:, :-1], x[:, -1] > 0

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden_channels={self.hidden_channels}, steps={self.steps}"


@register_model("flow-matching", family="generative", representation="points", levels=("generate",),
                cls=FlowMatchingGenerator)
def flow_matching(**kwargs: Any) -> FlowMatchingGenerator:
    """Conditional flow matching of a track's clusters (64 wide, 8 blocks, 32 Euler steps)."""
    return FlowMatchingGenerator(**kwargs)
