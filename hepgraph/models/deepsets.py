"""DeepSets on hits in each event's own principal-axes frame (``frame-deepsets``).

Why a frame: the quantities of a track fit are small effects on top of large ones. A
1 GeV/c track in a 0.2 T, 1.8 m TPC has a sagitta of ~25 mm, spread over a detector 800 mm
high at an arbitrary offset and slope; in detector coordinates a network has to subtract
the track's position and direction to a precision of a millimetre before the curvature
appears, and networks fed raw coordinates (per-hit MLPs, kNN graphs, CNNs on pad images)
learn nothing about the momentum. Expressed in the event's own frame, the curvature is the
leading shape of the hit cloud.

Per event: the hit centroid ``c`` and the eigenvectors ``e1, e2, e3`` of the position
covariance (largest variance first; each axis signed so that its largest component is
positive, ``e3 = e1 x e2``). Each hit enters with its coordinates in that frame twice:
divided by the event's spread along each axis (``sqrt`` of the eigenvalues, floored at
``min_sigma``, by default about 1/1000 of the detector's half-size: every axis at unit
scale) and divided by the largest spread alone (the shape kept: a sagitta over the track
length), plus its features; a per-hit MLP, mean and max pooling, then an MLP on the pooled vector and the
frame itself (centroid / detector half-size, ``e1``, ``e2``, ``log`` of the three spreads in
units of ``min_sigma``, ``log(1 + n_hits)``), so absolute quantities (vertex, direction)
stay learnable.

YAML::

    model: {name: frame-deepsets, hidden_channels: 128, hit_layers: 3, head_layers: 3}
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import ConfigError, setting
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel
from hepgraph.models.factory import register_model
from hepgraph.models.heads import mlp, pool_hits
from hepgraph.represent.image import parse_extent

#: Event-level inputs besides the pooled hits: centroid (3), e1 (3), e2 (3), log spreads (3), log n.
FRAME_FEATURES = 13
#: Per-hit coordinates: whitened (3) and isotropically scaled (3).
LOCAL_FEATURES = 6


def event_frames(pos: Tensor, batch: Tensor, batch_size: int, min_sigma: float = 1.0) -> tuple[Tensor, ...]:
    """Centroid, principal axes and spreads of each event's hits.

    Args:
        pos: (N, 3) hit positions (mm).
        batch: (N,) event index of each hit.
        batch_size: number of events B.
        min_sigma: floor of the spreads (mm), for events with fewer than 3 hits or flat ones.

    Returns:
        ``(centroid (B, 3) mm, axes (B, 3, 3) with the axes as columns, sigma (B, 3) mm,
        counts (B,))``.
    """
    pos = pos.double()  # covariances of mm-scale coordinates: keep the eigenvectors exact
    cnt = torch.bincount(batch, minlength=batch_size).to(pos.dtype)
    safe = cnt.clamp(min=1).unsqueeze(1)
    centroid = pos.new_zeros(batch_size, 3).index_add_(0, batch, pos) / safe
    d = pos - centroid[batch]
    outer = (d.unsqueeze(2) * d.unsqueeze(1)).reshape(-1, 9)
    cov = pos.new_zeros(batch_size, 9).index_add_(0, batch, outer).reshape(-1, 3, 3) / safe.unsqueeze(2)
    lam, vec = torch.linalg.eigh(cov)                       # ascending
    lam, vec = lam.flip(-1), vec.flip(-1)                   # largest first, axes as columns
    big = vec.abs().argmax(1, keepdim=True)                 # (B, 1, 3): largest component per axis
    sign = torch.gather(vec, 1, big).sign()
    vec = vec * torch.where(sign == 0, torch.ones_like(sign), sign)
    vec = torch.cat([vec[:, :, :2], torch.linalg.cross(vec[:, :, 0], vec[:, :, 1]).unsqueeze(2)], 2)
    sigma = lam.clamp(min=0).sqrt().clamp(min=min_sigma)
    return centroid, vec, sigma, cnt


class FrameDeepSets(HitModel):
    """Per-hit MLP in each event's principal-axes frame, pooled (see the module docstring).

    Args:
        in_channels, out_channels, level: see :class:`HitModel` (event level only).
        hidden_channels: width of the per-hit and head layers.
        hit_layers: layers of the per-hit MLP.
        head_layers: hidden layers of the MLP on the pooled vector.
        min_sigma: floor of the per-axis spreads (mm); default the power of ten nearest 1/1000
            of the extent's largest half-size (1 mm for the default 2 m cube and detectors of
            half-sizes of 0.3 to 3 m), so that a detector in metres is floored as the same detector in mm.
        extent: detector box (3, 2) mm, to scale the centroid.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B, out_channels)
    """

    levels = ("event",)

    def __init__(self, in_channels: int, out_channels: int, level: str, hidden_channels: int = 128,
                 hit_layers: int = 3, head_layers: int = 3, min_sigma: float | None = None,
                 extent: Any = None) -> None:
        super().__init__(in_channels, out_channels, level, hidden_channels)
        box = parse_extent(extent)
        ext = torch.tensor(box, dtype=torch.float64)
        if min_sigma is None:
            min_sigma = 10.0 ** round(math.log10(1e-3 * max(hi - lo for lo, hi in box) / 2))
        elif not float(min_sigma) > 0:
            raise ConfigError(f"min_sigma `{min_sigma}` must be a positive length in mm, e.g. "
                              f"{setting('model.min_sigma', 1.0)}, or unset (about 1/1000 of the detector's half-size)")
        self.hidden_channels, self.min_sigma = hidden_channels, float(min_sigma)
        self.register_buffer("ext_centre", ext.mean(1), persistent=False)
        self.register_buffer("ext_half", (ext[:, 1] - ext[:, 0]) / 2, persistent=False)
        self.encoder = mlp([LOCAL_FEATURES + in_channels] + [hidden_channels] * hit_layers)
        self.trunk = mlp([2 * hidden_channels + FRAME_FEATURES] + [hidden_channels] * head_layers)
        self.build_head(event_channels=hidden_channels)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: (B, out_channels)."""
        b, nb = batch.batch, batch.batch_size
        centroid, axes, sigma, cnt = event_frames(batch.pos, b, nb, self.min_sigma)
        local = torch.einsum("ni,nij->nj", batch.pos.double() - centroid[b], axes[b])
        local = torch.cat([local / sigma[b], local / sigma[b, :1]], 1)
        x = torch.cat([local.to(batch.feats.dtype), batch.feats], 1)
        h = torch.relu(self.encoder(x))
        frame = torch.cat([(centroid - self.ext_centre) / self.ext_half, axes[:, :, 0], axes[:, :, 1],
                           torch.log(sigma / self.min_sigma), torch.log1p(cnt).unsqueeze(1)], 1)
        z = torch.relu(self.trunk(torch.cat([pool_hits(h, b, nb), frame.to(h.dtype)], 1)))
        return self.finish(batch, event=z)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden_channels={self.hidden_channels}, min_sigma={self.min_sigma}"


@register_model("frame-deepsets", family="mlp", representation="points", levels=FrameDeepSets.levels,
                cls=FrameDeepSets)
def frame_deepsets(**kwargs: Any) -> FrameDeepSets:
    """DeepSets in each event's principal-axes frame (3 x 128 per hit, 3 x 128 head)."""
    return FrameDeepSets(**kwargs)
