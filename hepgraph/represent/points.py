"""HitBatch -> point set ``(x, pos, batch)``, the PyG call signature of point models."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.registry import TRANSFORMS


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


class ToPoints:
    """Transform: ``HitBatch -> Points``. YAML: ``{name: to-points, pos_scale: 1000.0}``."""

    def __init__(self, pos_scale: float = 1.0, center: bool = False) -> None:
        self.pos_scale, self.center = pos_scale, center

    def __call__(self, batch: HitBatch) -> Points:
        return to_points(batch, self.pos_scale, self.center)

    def __repr__(self) -> str:
        return f"ToPoints(pos_scale={self.pos_scale}, center={self.center})"


TRANSFORMS.register("to-points", representation="points")(ToPoints)

__all__ = ["Points", "ToPoints", "to_points"]
