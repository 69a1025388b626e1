"""Sparse ResNets and the sparse U-Net (UResNet) on voxelised hits.

The bodies are :class:`hepgraph.models.blocks.ResNetBody` / ``UNetBody`` over
:class:`hepgraph.models.ops.SparseOps`: the same modules and parameter shapes as
``dense-resnet*-3d`` / ``dense-unet-3d`` (dense twins with ``image_shape = size / voxel_size``).

YAML::

    model: {name: sparse-unet, voxel_size: 3.0, channels: [16, 32, 64, 128], reps: 2,
            extent: [[0, 768], [0, 768], [0, 768]]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel
from hepgraph.models.blocks import RESNET_LAYERS, ResNetBody, UNetBody
from hepgraph.models.factory import register_model
from hepgraph.models.heads import pool_hits
from hepgraph.models.ops import SparseOps
from hepgraph.represent.image import parse_extent
from hepgraph.represent.sparse import REDUCTIONS, parse_voxel_size, to_sparse, voxel_coords
from hepgraph.sparse.functional import find_sites, global_pool


class SparseImageModel(HitModel):
    """Base of the sparse CNNs: voxelise, body, head.

    Per-hit outputs read the final features of each hit's voxel (full resolution for the
    U-Net, through ``inverse_map``; the coarse site for the ResNets) concatenated with
    the hit's own features.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        voxel_size: voxel edge (mm).
        extent: (3, 2) mm; its lower corner is the voxel origin.
        reduce: merging of hits in one voxel (``sum``, ``mean``, ``max``).
        pool: event-level pooling of the final sites: ``mean`` (global average over the
            *active* sites; the dense twin averages over a fixed grid, which keeps the
            amount of activity), ``mean_max`` (mean and max concatenated, 2C: a feature of a
            few sites, such as the start of a shower, is not averaged away), ``sum`` (keeps
            multiplicity, for counting) or ``mean_max_count`` (``mean_max`` plus
            log(1 + active sites) of the input voxels and of the final sites, 2C + 2: the
            event's extent, e.g. a track's range, without the scale of a sum).
    """

    levels = ("event", "hit")
    pools = ("mean", "mean_max", "sum", "mean_max_count")

    def __init__(self, in_channels: int, out_channels: int, level: str,
                 voxel_size: float | Sequence[float] = 5.0, extent: Any = None,
                 reduce: str = "sum", head_hidden: int = 128, pool: str = "mean") -> None:
        super().__init__(in_channels, out_channels, level, head_hidden)
        if reduce not in REDUCTIONS:
            raise ConfigError(f"reduce `{reduce}` is unknown; use one of {', '.join(REDUCTIONS)}")
        if pool not in self.pools:
            raise ConfigError(f"pool `{pool}` is unknown; use one of {', '.join(self.pools)}")
        self.voxel_size, self.extent, self.reduce = parse_voxel_size(voxel_size), parse_extent(extent), reduce
        self.pool = pool

    def pooled_channels(self, c: int) -> int:
        """Event feature size after pooling ``c`` channels."""
        return {"mean_max": 2 * c, "mean_max_count": 2 * c + 2}.get(self.pool, c)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out) or hit (N, out)."""
        x = to_sparse(batch, self.voxel_size, self.reduce, self.extent)
        y = self.body(x)
        if self.level == "event":
            if self.pool in ("mean_max", "mean_max_count"):                # (B, 2C [+ 2])
                b = batch.batch_size
                ev = pool_hits(y.feats, y.coords[:, 0].long(), b)
                if self.pool == "mean_max_count":
                    counts = [torch.bincount(t.coords[:, 0].long(), minlength=b) for t in (x, y)]
                    ev = torch.cat([ev] + [torch.log1p(n.to(ev.dtype)).unsqueeze(1) for n in counts], 1)
                return self.finish(batch, event=ev)
            if self.pool == "sum":                                         # (B, C)
                return self.finish(batch, event=global_pool(y, "sum"))
            return self.finish(batch, event=self.body.ops.global_pool(y, batch.batch_size))
        if y.stride == x.stride:
            rows = x.inverse_map
        else:
            c = voxel_coords(batch, self.voxel_size, self.extent)
            s = torch.tensor(y.stride, device=c.device)
            c = torch.cat([c[:, :1], torch.div(c[:, 1:], s, rounding_mode="floor")], 1)
            rows = find_sites(y, c)
        assert bool((rows >= 0).all()), "every hit's voxel survives (strided sites cover all)"
        return self.finish(batch, hit=torch.cat([y.feats[rows], batch.feats], dim=1))

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, voxel_size={self.voxel_size}, reduce={self.reduce!r}"
                + (f", pool={self.pool!r}" if self.pool != "mean" else ""))


class SparseResNet(SparseImageModel):
    """Sparse ResNet (same blocks as :class:`hepgraph.models.dense.resnet.DenseResNet`).

    Args:
        depth: 18, 34 or 50 (101/152 too).
        base_channels: width of the first stage.
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, depth: int = 18,
                 base_channels: int = 64, voxel_size: float | Sequence[float] = 5.0,
                 extent: Any = None, reduce: str = "sum", head_hidden: int = 128,
                 pool: str = "mean") -> None:
        super().__init__(in_channels, out_channels, level, voxel_size, extent, reduce, head_hidden, pool)
        if depth not in RESNET_LAYERS:
            raise ConfigError(f"ResNet depth `{depth}` is unknown; use one of {list(RESNET_LAYERS)}")
        block, layers = RESNET_LAYERS[depth]
        self.depth = depth
        self.bodies = torch.nn.ModuleList([ResNetBody(SparseOps(3), in_channels, block, layers,
                                                      base_channels)])
        c = self.body.out_channels
        self.build_head(hit_channels=c + in_channels, event_channels=self.pooled_channels(c))

    @property
    def body(self) -> ResNetBody:
        """The feature extractor (``bodies[0]``, named as in the dense twin)."""
        return self.bodies[0]


class SparseUNet(SparseImageModel):
    """Sparse U-Net / UResNet: per-voxel features at full resolution, back per hit exactly.

    Args:
        channels: widths per level.
        reps: residual blocks per level.
    """

    def __init__(self, in_channels: int, out_channels: int, level: str,
                 channels: Sequence[int] = (16, 32, 64, 128), reps: int = 1,
                 voxel_size: float | Sequence[float] = 5.0, extent: Any = None,
                 reduce: str = "sum", head_hidden: int = 128, pool: str = "mean") -> None:
        super().__init__(in_channels, out_channels, level, voxel_size, extent, reduce, head_hidden, pool)
        self.bodies = torch.nn.ModuleList([UNetBody(SparseOps(3), in_channels, channels, reps)])
        c = self.body.out_channels
        self.build_head(hit_channels=c + in_channels, event_channels=self.pooled_channels(c))

    @property
    def body(self) -> UNetBody:
        """The U-Net body (``bodies[0]``, named as in the dense twin)."""
        return self.bodies[0]


def _entry(depth: int) -> Any:
    def entry(**kwargs: Any) -> SparseResNet:
        return SparseResNet(**{"depth": depth, **kwargs})

    entry.__doc__ = f"Sparse ResNet-{depth} on voxelised hits."
    return entry


for _depth in (18, 34, 50):
    register_model(f"sparse-resnet{_depth}", family="sparse", representation="sparse",
                   levels=SparseResNet.levels, cls=SparseResNet,
                   defaults={"base_channels": 32} if _depth == 18 else None)(_entry(_depth))


@register_model("sparse-unet", family="sparse", representation="sparse",
                levels=SparseUNet.levels, cls=SparseUNet, defaults={"voxel_size": 3.0})
def sparse_unet(**kwargs: Any) -> SparseUNet:
    """Sparse U-Net (UResNet) with widths 16-32-64-128."""
    return SparseUNet(**kwargs)
