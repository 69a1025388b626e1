"""HitBatch -> :class:`hepgraph.sparse.SparseTensor` of voxels, with the inverse map back to hits.

Voxel ``v`` along an axis covers ``origin + [v, v+1) * voxel_size`` where ``origin`` is the
lower corner of ``extent`` (mm; default the 2 m cube of
:data:`hepgraph.represent.image.DEFAULT_EXTENT`), so that voxels line up with the pixels of
a 3D image of the same extent and ``image_shape = size / voxel_size``. Hits outside the
extent are kept (sparse tensors have no border; their voxel indices are negative or beyond
the image shape).

>>> st = to_sparse(batch, voxel_size=5.0)       # doctest: +SKIP
>>> per_hit = st.feats[st.inverse_map]          # (N, C), back per hit
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.represent.image import parse_extent

REDUCTIONS = ("sum", "mean", "max")


def parse_voxel_size(voxel_size: float | Sequence[float]) -> tuple[float, float, float]:
    """Voxel edges (mm) along x, y, z from one number or three.

    Raises:
        ConfigError: not one or three positive numbers.
    """
    vs = (voxel_size,) * 3 if isinstance(voxel_size, (int, float)) else tuple(voxel_size)
    if len(vs) != 3 or any(float(v) <= 0 for v in vs):
        raise ConfigError(f"voxel_size `{voxel_size}` must be a positive number of mm (or three)")
    return tuple(float(v) for v in vs)  # type: ignore[return-value]


def voxel_coords(batch: HitBatch, voxel_size: float | Sequence[float], extent: Any = None) -> Tensor:
    """(N, 4) int64 ``[event, i, j, k]`` voxel coordinates of the hits."""
    ext = torch.tensor(parse_extent(extent), dtype=torch.float64, device=batch.pos.device)
    vs = torch.tensor(parse_voxel_size(voxel_size), dtype=torch.float64, device=batch.pos.device)
    ijk = torch.floor((batch.pos.double() - ext[:, 0]) / vs).long()
    return torch.cat([batch.batch.unsqueeze(1), ijk], dim=1)


def to_sparse(
    batch: HitBatch,
    voxel_size: float | Sequence[float] = 5.0,
    reduce: str = "sum",
    extent: Any = None,
    values: Tensor | None = None,
) -> Any:
    """Voxelise the hits.

    Args:
        batch: the hits.
        voxel_size: voxel edge in mm (one value or three).
        reduce: how hits sharing a voxel are merged: ``sum``, ``mean`` or ``max``.
        extent: (3, 2) mm; its lower corner is the voxel origin.
        values: (N, C) per-hit values (default ``batch.feats``).

    Returns:
        ``SparseTensor`` with ``batch_size == batch.batch_size``, ``inverse_map`` (N,) the
        voxel row of every hit, and ``unique_index`` the first hit of every voxel.

    Shapes:
        - **coords:** (V, 4), batch in column 0  - **feats:** (V, C)  - **inverse_map:** (N,)
    """
    from hepgraph.sparse import SparseTensor

    if reduce not in REDUCTIONS:
        raise ConfigError(f"reduce `{reduce}` is unknown; use one of {', '.join(REDUCTIONS)}")
    vals = batch.feats if values is None else values
    coords = voxel_coords(batch, voxel_size, extent)
    return SparseTensor.from_points(coords, vals, reduce, batch_size=batch.batch_size)
