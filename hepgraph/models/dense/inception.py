"""Inception/CVN: GoogLeNet branches with local response normalisation, one per view,
merged by an Inception module (the NOvA / DUNE Convolutional Visual Network).

Aurisano et al., "A Convolutional Neural Network Neutrino Event Classifier"
(arXiv:1604.01444). Each view runs conv7x7/2 -> maxpool -> LRN -> conv1x1 -> conv3x3 ->
LRN -> maxpool -> Inception 3a, 3b -> maxpool; the views are concatenated along channels
-> Inception 4a -> global average pool -> event head.

YAML::

    model: {name: inception-cvn, views: [xz, yz], image_shape: [80, 100], width: 1.0}
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


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2), nn.ReLU())


class Inception(nn.Module):
    """GoogLeNet Inception module: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches, concatenated.

    Shapes:
        - **input:** (B, cin, H, W)  - **output:** (B, c1 + c3 + c5 + cp, H, W)
    """

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int) -> None:
        super().__init__()
        self.b1 = _conv(cin, c1, 1)
        self.b3 = nn.Sequential(_conv(cin, c3r, 1), _conv(c3r, c3, 3))
        self.b5 = nn.Sequential(_conv(cin, c5r, 1), _conv(c5r, c5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), _conv(cin, cp, 1))
        self.cin, self.out_channels = cin, c1 + c3 + c5 + cp

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the four branches."""
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)

    def extra_repr(self) -> str:
        return f"{self.cin} -> {self.out_channels}"


def _scaled(width: float, *cs: int) -> list[int]:
    return [max(1, round(c * width)) for c in cs]


class InceptionCVN(HitModel):
    """CVN event classifier over several views.

    Args:
        in_channels, out_channels, level: see :class:`HitModel` (event level only).
        views: views, each its own branch (``xy``, ``yz``, ``xz``).
        image_shape: (H, W) pixels of every view.
        extent: detector box (3, 2) mm.
        encoding: image encoding (see :func:`hepgraph.represent.image.to_image`).
        width: channel multiplier (1.0 = GoogLeNet widths).

    Shapes:
        - **input:** HitBatch  - **output:** ``out`` (B, out_channels)
    """

    levels = ("event",)

    def __init__(self, in_channels: int, out_channels: int, level: str,
                 views: Sequence[str] = ("xy", "yz", "xz"), image_shape: Sequence[int] = (64, 64),
                 extent: Any = None, encoding: str = "per_hit", width: float = 1.0,
                 head_hidden: int = 128) -> None:
        super().__init__(in_channels, out_channels, level, head_hidden)
        for v in views:
            if v not in VIEW_AXES or v == "3d":
                raise ConfigError(f"CVN view `{v}` is unknown; use xy, yz or xz")
        self.views, self.image_shape = tuple(views), tuple(int(s) for s in image_shape)
        self.extent, self.encoding, self.width = parse_extent(extent), encoding, width
        self.branches = nn.ModuleList([self._branch(in_channels, width) for _ in self.views])
        cb = self.branches[0][-2].out_channels * len(self.views)
        self.merge = Inception(cb, *_scaled(width, 192, 96, 208, 16, 48, 64))
        self.build_head(event_channels=self.merge.out_channels)

    @staticmethod
    def _branch(cin: int, w: float) -> nn.Sequential:
        c64, c192 = _scaled(w, 64, 192)
        i3a = Inception(c192, *_scaled(w, 64, 96, 128, 16, 32, 32))
        i3b = Inception(i3a.out_channels, *_scaled(w, 128, 128, 192, 32, 96, 64))
        return nn.Sequential(
            _conv(cin, c64, 7, 2), nn.MaxPool2d(3, 2, padding=1), nn.LocalResponseNorm(5),
            _conv(c64, c64, 1), _conv(c64, c192, 3), nn.LocalResponseNorm(5),
            nn.MaxPool2d(3, 2, padding=1), i3a, i3b, nn.MaxPool2d(3, 2, padding=1),
        )

    def forward(self, batch: HitBatch) -> dict[str, Tensor]:
        """Shapes: (B, out_channels)."""
        maps = [br(to_image(batch, v, self.image_shape, self.extent, self.encoding))
                for br, v in zip(self.branches, self.views)]
        x = self.merge(torch.cat(maps, dim=1))
        return self.finish(batch, event=x.flatten(2).mean(-1))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, views={self.views}, image_shape={self.image_shape}, width={self.width}"


@register_model("inception-cvn", family="dense", representation="image",
                levels=InceptionCVN.levels, cls=InceptionCVN,
                defaults={"views": ["xz", "yz"], "image_shape": [80, 96]})
def inception_cvn(**kwargs: Any) -> InceptionCVN:
    """Inception CVN over the xy, yz and xz views (GoogLeNet widths)."""
    return InceptionCVN(**kwargs)
