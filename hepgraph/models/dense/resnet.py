"""Dense ResNets and U-Nets on hit images (2D view, 3D grid, or three views fused).

YAML::

    model: {name: dense-resnet18, view: xy, image_shape: [64, 64], encoding: per_hit,
            extent: [[-500, 500], [-500, 500], [-500, 500]], base_channels: 64}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel
from hepgraph.models.blocks import RESNET_LAYERS, ResNetBody, UNetBody
from hepgraph.models.factory import register_model
from hepgraph.models.ops import DenseOps
from hepgraph.represent.image import MULTIVIEW, parse_extent, pixel_lookup, to_image


def _check_shape(view: str, shape: Sequence[int], factor: int) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    want = 3 if view == "3d" else 2
    if len(shape) != want:
        raise ConfigError(f"image_shape `{shape}` needs {want} sizes for view `{view}`")
    if any(s % factor for s in shape):
        raise ConfigError(
            f"image_shape `{shape}` must be divisible by {factor} (the network downsamples "
            f"{factor}x); e.g. {tuple(max(factor, s // factor * factor) for s in shape)}"
        )
    return shape


class DenseImageModel(HitModel):
    """Base for dense CNNs: render the image, run one body per view, head.

    Per-hit outputs read each hit's pixel of the final feature map (all views for
    ``multiview``) concatenated with the hit's own features.

    Args:
        in_channels, out_channels, level: see :class:`HitModel`.
        view: ``xy``, ``yz``, ``xz``, ``3d`` or ``multiview``.
        image_shape: pixels per axis (default 64x64, or 32^3 for ``3d``).
        extent: detector box (3, 2) in mm (default 2 m cube).
        encoding: ``binary``, ``total``, ``average`` or ``per_hit``.
    """

    levels = ("event", "hit")

    def __init__(self, in_channels: int, out_channels: int, level: str, view: str = "xy",
                 image_shape: Sequence[int] | None = None, extent: Any = None,
                 encoding: str = "per_hit", head_hidden: int = 128) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden)
        self.view, self.encoding = view, encoding
        self.extent = parse_extent(extent)
        if image_shape is None:
            image_shape = (32, 32, 32) if view == "3d" else (64, 64)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.views = MULTIVIEW if view == "multiview" else (view,)

    def make_bodies(self, make: Any) -> None:
        """Build one body per view with ``make()``, then the head."""
        self.bodies = nn.ModuleList([make() for _ in self.views])
        _check_shape(self.views[0], self.image_shape, self.bodies[0].downsample)
        c = self.bodies[0].out_channels * len(self.views)
        self.build_head(hit_channels=c + self.in_channels, event_channels=c)

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: event (B, out) or hit (N, out)."""
        img = to_image(batch, self.view, self.image_shape, self.extent, self.encoding)
        imgs = img.unbind(1) if self.view == "multiview" else (img,)
        maps = [body(x) for body, x in zip(self.bodies, imgs)]
        if self.level == "event":
            return self.finish(batch, event=torch.cat([m.flatten(2).mean(-1) for m in maps], 1))
        hit = [pixel_lookup(m, batch, v, self.extent) for m, v in zip(maps, self.views)]
        return self.finish(batch, hit=torch.cat([*hit, batch.feats], 1))

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, view={self.view!r}, image_shape={self.image_shape}, "
                f"encoding={self.encoding!r}")


class DenseResNet(DenseImageModel):
    """ResNet on images; ``view="3d"`` is the dense twin of ``SparseResNet``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        base_channels: width of the first stage (64 in the classic ResNets).
        (others as in :class:`DenseImageModel`)

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B, out) or (N, out)
    """

    def __init__(self, in_channels: int, out_channels: int, level: str, depth: int = 18,
                 base_channels: int = 64, view: str = "xy", image_shape: Sequence[int] | None = None,
                 extent: Any = None, encoding: str = "per_hit", head_hidden: int = 128) -> None:
        super().__init__(in_channels, out_channels, level, view, image_shape, extent, encoding,
                         head_hidden)
        if depth not in RESNET_LAYERS:
            raise ConfigError(f"ResNet depth `{depth}` is unknown; use one of {list(RESNET_LAYERS)}")
        block, layers = RESNET_LAYERS[depth]
        ops = DenseOps(3 if view == "3d" else 2)
        self.depth = depth
        self.make_bodies(lambda: ResNetBody(ops, in_channels, block, layers, base_channels))


class DenseUNet(DenseImageModel):
    """U-Net on images (full-resolution per-pixel features); per-hit outputs by pixel lookup.

    Args:
        channels: widths per level (the grid halves per level).
        reps: residual blocks per level.
    """

    def __init__(self, in_channels: int, out_channels: int, level: str,
                 channels: Sequence[int] = (16, 32, 64, 128), reps: int = 1, view: str = "xy",
                 image_shape: Sequence[int] | None = None, extent: Any = None,
                 encoding: str = "per_hit", head_hidden: int = 128) -> None:
        super().__init__(in_channels, out_channels, level, view, image_shape, extent, encoding,
                         head_hidden)
        ops = DenseOps(3 if view == "3d" else 2)
        self.make_bodies(lambda: UNetBody(ops, in_channels, channels, reps))


def _resnet_entry(depth: int, view: str) -> Any:
    def entry(**kwargs: Any) -> DenseResNet:
        return DenseResNet(**{"depth": depth, "view": view, **kwargs})

    return entry


#: what a variant sets over the DenseResNet defaults (base_channels 64, 64x64 or 32^3 pixels)
VARIANT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dense-resnet18-3d": {"base_channels": 32},
    "dense-resnet18-multiview": {"base_channels": 32},
    "dense-resnet50": {"image_shape": [128, 128]},
}

for _depth in RESNET_LAYERS:
    for _suffix, _view in (("", "xy"), ("-3d", "3d"), ("-multiview", "multiview")):
        _name = f"dense-resnet{_depth}{_suffix}"
        _fn = _resnet_entry(_depth, _view)
        _fn.__doc__ = f"ResNet-{_depth} on {'three views' if _view == 'multiview' else _view} images."
        register_model(_name, family="dense", representation="image", levels=DenseResNet.levels,
                       cls=DenseResNet, defaults=VARIANT_DEFAULTS.get(_name))(_fn)


@register_model("dense-unet", family="dense", representation="image", levels=DenseUNet.levels,
                cls=DenseUNet)
def dense_unet(**kwargs: Any) -> DenseUNet:
    """2D U-Net on one view (default xy)."""
    return DenseUNet(**kwargs)


@register_model("dense-unet-3d", family="dense", representation="image", levels=DenseUNet.levels,
                cls=DenseUNet)
def dense_unet_3d(**kwargs: Any) -> DenseUNet:
    """3D U-Net on a voxel grid: the dense twin of ``sparse-unet``."""
    return DenseUNet(**{"view": "3d", **kwargs})
