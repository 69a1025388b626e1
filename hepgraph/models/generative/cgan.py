"""Conditional GAN of a track's clusters (the seed's condDCGAN, on the slot sequence).

The generator maps noise (a global vector and one vector per slot) and the particle's
condition to the standardised values and the presence logits of every slot; the
discriminator scores (values x presence, presence) sequences with the same condition.
Both are dilated 1D convolution networks with FiLM conditioning
(:class:`~hepgraph.models.generative.nets.SeqNet`).

hepgraph trains every model with one optimizer, so the two players are updated
simultaneously from one backward pass: the loss of an event is

.. math::
    L = \\underbrace{\\mathrm{sp}(-D(x)) + \\mathrm{sp}(D(\\bar G(z)))}_{\\text{discriminator}}
      + \\underbrace{\\mathrm{sp}(-\\bar D(G(z)))}_{\\text{generator}}

(``sp`` = softplus, the non-saturating GAN loss), where a bar stops the gradient: the
generated sample is detached in the discriminator's term, and the discriminator's
parameters are detached in the generator's term, so each term trains one player only.
GANs like a small learning rate and Adam's beta1 = 0.5, e.g.
``--lr 2e-4 --set 'train.optimizer={name: adam, betas: [0.5, 0.999]}'``.

YAML::

    model: {name: cond-gan, hidden_channels: 64, num_blocks: 6, noise_channels: 8}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from hepgraph.models.factory import register_model
from hepgraph.models.generative.base import COND_DIM, TrackGenerator
from hepgraph.models.generative.nets import SeqNet

__all__ = ["CondGANGenerator"]


class _Critic(nn.Module):
    """Discriminator: sequence + condition -> one logit per event."""

    def __init__(self, channels: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.cond = nn.Sequential(nn.Linear(COND_DIM, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.body = SeqNet(channels, hidden, hidden, hidden, blocks)
        self.head = nn.Linear(2 * hidden, 1)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = self.body(x, self.cond(cond))                                                # (B, H, L)
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=1)).squeeze(1)


class CondGANGenerator(TrackGenerator):
    """Conditional GAN over slots (see the module docstring).

    Args:
        in_channels, out_channels, level, index, values, fit_events, baseline: see
            :class:`TrackGenerator`.
        hidden_channels: width of both networks.
        num_blocks: residual blocks of each network.
        noise_channels: noise channels per slot (plus 2x that many global noise values).

    Shapes:
        - **input:** HitBatch  - **output:** ``loss_event`` (B,) (and samples in eval mode)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str = "generate", hidden_channels: int = 64,
                 num_blocks: int = 6, noise_channels: int = 8, index: str = "auto",
                 values: Sequence[str] = ("x", "y", "z", "charge"), fit_events: int = 5000,
                 baseline: str = "quadratic") -> None:
        super().__init__(in_channels, out_channels, level, index, values, fit_events, baseline)
        c = self.num_values + 1
        self.hidden_channels, self.noise_channels = hidden_channels, int(noise_channels)
        self.gen_cond = nn.Sequential(nn.Linear(COND_DIM + 2 * noise_channels, hidden_channels), nn.SiLU(),
                                      nn.Linear(hidden_channels, hidden_channels))
        self.gen = SeqNet(noise_channels, c, hidden_channels, hidden_channels, num_blocks)
        self.critic = _Critic(c, hidden_channels, num_blocks)

    def _generate(self, cond: Tensor, z_slot: Tensor, z_global: Tensor) -> Tensor:
        out = self.gen(z_slot, self.gen_cond(torch.cat([cond, z_global], dim=1)))          # (B, V+1, L)
        present = torch.sigmoid(out[:, -1:])
        return torch.cat([out[:, :-1] * present, present], dim=1)

    def loss(self, cond: Tensor, seq: Tensor, mask: Tensor) -> Tensor:
        b, length = seq.shape[0], seq.shape[-1]
        real = torch.cat([seq, mask.unsqueeze(1).to(seq.dtype)], dim=1)
        z_slot = torch.randn(b, self.noise_channels, length, device=seq.device)
        z_global = torch.randn(b, 2 * self.noise_channels, device=seq.device)
        fake = self._generate(cond, z_slot, z_global)
        d_loss = F.softplus(-self.critic(real, cond)) + F.softplus(self.critic(fake.detach(), cond))
        frozen = {k: v.detach() for k, v in self.critic.named_parameters()}
        g_loss = F.softplus(-functional_call(self.critic, frozen, (fake, cond)))
        return d_loss + g_loss

    def sample(self, cond: Tensor, noise: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        length, k = self.codec.length, self.noise_channels
        zs = [torch.randn(k * length + 2 * k, generator=g) for g in noise]
        z = torch.stack(zs).to(cond.device) if zs else torch.zeros(0, k * length + 2 * k, device=cond.device)
        out = self._generate(cond, z[:, : k * length].reshape(-1, k, length), z[:, k * length:])
        present = out[:, -1] > 0.5
        return out[:, :-1] / out[:, -1:].clamp_min(1e-6), present

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden_channels={self.hidden_channels}, noise_channels={self.noise_channels}"


@register_model("cond-gan", family="generative", representation="points", levels=("generate",),
                cls=CondGANGenerator)
def cond_gan(**kwargs: Any) -> CondGANGenerator:
    """Conditional GAN of a track's clusters (64 wide, 6 blocks per network)."""
    return CondGANGenerator(**kwargs)
