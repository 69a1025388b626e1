"""A compact per-view CNN (three conv-pool stages), views fused before the head; the
network used for track counting in wire trackers.

YAML::

    model: {name: small-cnn, views: [xy], image_shape: [64, 64], channels: [32, 64, 128]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hepgraph.errors import ConfigError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.models.base import HitModel
from hepgraph.models.factory import register_model
from hepgraph.represent.image import VIEW_AXES, parse_extent, to_image


class SmallCNN(HitModel):
    """Per view: [conv3x3 -> BN -> ReLU -> maxpool 2] x len(channels), global mean pool;
    views concatenated -> event head.

    Args:
        in_channels, out_channels, level: see :class:`HitModel` (event level only).
        views: views (``xy``, ``yz``, ``xz``), one branch each.
        image_shape: (H, W) pixels of every view, or one (H, W) per view, e.g.
            ``[[20, 113], [20, 113], [113, 113]]`` for views ``[xy, xz, yz]``.
        extent: detector box (3, 2) mm.
        encoding: image encoding.
        channels: widths of the conv stages.

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B, out_channels)
    """

    levels = ("event",)

    def __init__(self, in_channels: int, out_channels: int, level: str,
                 views: Sequence[str] = ("xy",), image_shape: Sequence[Any] = (64, 64),
                 extent: Any = None, encoding: str = "per_hit",
                 channels: Sequence[int] = (32, 64, 128), head_hidden: int = 128) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden)
        for v in views:
            if v not in VIEW_AXES or v == "3d":
                raise ConfigError(f"small-cnn view `{v}` is unknown; use xy, yz or xz")
        self.views, self.shapes = tuple(views), _shapes(image_shape, len(views))
        self.extent, self.encoding, self.channels = parse_extent(extent), encoding, tuple(channels)

        def branch() -> nn.Sequential:
            mods: list[nn.Module] = []
            c = in_channels
            for co in self.channels:
                mods += [nn.Conv2d(c, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(),
                         nn.MaxPool2d(2, ceil_mode=True)]
                c = co
            return nn.Sequential(*mods)

        self.branches = nn.ModuleList([branch() for _ in self.views])
        self.build_head(event_channels=self.channels[-1] * len(self.views))

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: (B, out_channels)."""
        feats = [br(to_image(batch, v, shape, self.extent, self.encoding)).flatten(2).mean(-1)
                 for br, v, shape in zip(self.branches, self.views, self.shapes)]
        return self.finish(batch, event=torch.cat(feats, dim=1))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, views={self.views}, channels={self.channels}"


def _shapes(image_shape: Sequence[Any], n: int) -> tuple[tuple[int, int], ...]:
    """One (H, W) per view from ``[H, W]`` or ``[[H, W], ...]`` (n of them)."""
    try:
        per = [image_shape] * n if all(not isinstance(s, Sequence) for s in image_shape) else list(image_shape)
        shapes = tuple((int(h), int(w)) for h, w in per)
    except (TypeError, ValueError):
        shapes = ()
    if len(shapes) != n or any(h < 1 or w < 1 for h, w in shapes):
        raise ConfigError(f"small-cnn image_shape `{image_shape}` must be [H, W] or one [H, W] per view "
                          f"({n} views), in pixels")
    return shapes


@register_model("small-cnn", family="dense", representation="image", levels=SmallCNN.levels,
                cls=SmallCNN, defaults={"encoding": "binary"})
def small_cnn(**kwargs: Any) -> SmallCNN:
    """Compact CNN (32-64-128) on the xy view."""
    return SmallCNN(**kwargs)
