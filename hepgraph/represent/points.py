"""HitBatch -> point set ``(x, pos, batch)``, the PyG call signature of point models."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch


class Points(NamedTuple):
    """A batch of point clouds.

    Attributes:
        x: (N, C) features.
        pos: (N, 3) positions, in mm divided by ``pos_scale``.
        batch: (N,) event index of each point.
        ptr: (B+1,) event offsets.
        batch_size: B (trailing empty events kept).
    """

    x: Tensor
    pos: Tensor
    batch: Tensor
    ptr: Tensor
    batch_size: int


def to_points(batch: HitBatch, pos_scale: float = 1.0, center: bool = False) -> Points:
    """The hits as a point set.

    Args:
        batch: the hits.
        pos_scale: positions are divided by this (mm), e.g. the detector size, so that
            positional encodings see O(1) values.
        center: subtract each event's mean position (translation-invariant inputs).

    Returns:
        :class:`Points` sharing memory with ``batch`` where no scaling is applied.
    """
    if pos_scale <= 0:
        raise ConfigError(f"pos_scale=`{pos_scale}` must be positive (mm)")
    pos = batch.pos
    if center and pos.shape[0]:
        idx = batch.batch
        cnt = batch.counts.clamp(min=1).to(pos.dtype).unsqueeze(1)
        mean = pos.new_zeros(batch.batch_size, pos.shape[1]).index_add_(0, idx, pos) / cnt
        pos = pos - mean[idx]
    if pos_scale != 1.0:
        pos = pos / pos_scale
    return Points(batch.feats, pos, batch.batch, batch.ptr, batch.batch_size)


__all__ = ["Points", "to_points"]
