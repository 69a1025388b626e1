"""ResNet blocks, a ResNet body and a U-Net body, written once over an operator set.

``ResNetBody(DenseOps(3), ...)`` and ``ResNetBody(SparseOps(3), ...)`` have the same
modules, in the same order, with the same parameter shapes: only the operators differ.

Architecture (MinkowskiEngine-style ResNet, so it exists in sparse form): a stride-1
3x3 stem, then four stages of residual blocks; each stage after the first starts with a
kernel-2 stride-2 convolution (+ BN + ReLU), halving the grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from hepgraph.models.ops import DenseOps, SparseOps


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34).

    Shapes:
        - **input:** (B, cin, *S) or sparse (N, cin)  - **output:** same sites, ``cout``
    """

    expansion = 1

    def __init__(self, ops: DenseOps | SparseOps, cin: int, planes: int) -> None:
        super().__init__()
        self.ops, cout = ops, planes * self.expansion
        self.conv1, self.bn1, self.relu1 = ops.conv(cin, planes, 3), ops.bn(planes), ops.relu()
        self.conv2, self.bn2 = ops.conv(planes, cout, 3), ops.bn(cout)
        self.shortcut = (
            nn.Sequential(ops.conv(cin, cout, 1), ops.bn(cout)) if cin != cout else nn.Identity()
        )
        self.relu2 = ops.relu()
        self.cin, self.cout = cin, cout

    def forward(self, x: Any) -> Any:
        """Residual block."""
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.ops.add(out, self.shortcut(x)))

    def extra_repr(self) -> str:
        return f"{self.cin} -> {self.cout}, ops={self.ops!r}"


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4 channels) with a residual connection (ResNet-50/101/152)."""

    expansion = 4

    def __init__(self, ops: DenseOps | SparseOps, cin: int, planes: int) -> None:
        super().__init__()
        self.ops, cout = ops, planes * self.expansion
        self.conv1, self.bn1, self.relu1 = ops.conv(cin, planes, 1), ops.bn(planes), ops.relu()
        self.conv2, self.bn2, self.relu2 = ops.conv(planes, planes, 3), ops.bn(planes), ops.relu()
        self.conv3, self.bn3 = ops.conv(planes, cout, 1), ops.bn(cout)
        self.shortcut = (
            nn.Sequential(ops.conv(cin, cout, 1), ops.bn(cout)) if cin != cout else nn.Identity()
        )
        self.relu3 = ops.relu()
        self.cin, self.cout = cin, cout

    def forward(self, x: Any) -> Any:
        """Residual bottleneck block."""
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(self.ops.add(out, self.shortcut(x)))

    def extra_repr(self) -> str:
        return f"{self.cin} -> {self.cout}, ops={self.ops!r}"


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
RESNET_LAYERS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def _stage_down(ops: DenseOps | SparseOps, c: int) -> nn.Sequential:
    return nn.Sequential(ops.conv(c, c, stride=2), ops.bn(c), ops.relu())


class ResNetBody(nn.Module):
    """ResNet feature extractor over an operator set.

    Args:
        ops: operator set.
        in_channels: input channels.
        block: ``basic`` or ``bottleneck``.
        layers: blocks per stage.
        base_channels: width of the first stage (doubling per stage).

    Shapes:
        - **input:** (B, in, *S)  - **output:** (B, out_channels, *S / 2**(stages-1))
    """

    def __init__(self, ops: DenseOps | SparseOps, in_channels: int, block: str,
                 layers: Sequence[int], base_channels: int = 64) -> None:
        super().__init__()
        blk = BLOCKS[block]
        self.ops, self.block_name, self.layers = ops, block, tuple(layers)
        self.stem = nn.Sequential(ops.conv(in_channels, base_channels, 3), ops.bn(base_channels),
                                  ops.relu())
        stages: list[nn.Module] = []
        c = base_channels
        for i, n in enumerate(layers):
            mods: list[nn.Module] = [_stage_down(ops, c)] if i > 0 else []
            planes = base_channels * 2**i
            for _ in range(n):
                mods.append(blk(ops, c, planes))
                c = planes * blk.expansion
            stages.append(nn.Sequential(*mods))
        self.stages = nn.ModuleList(stages)
        self.out_channels = c
        self.downsample = 2 ** (len(layers) - 1)

    def forward(self, x: Any) -> Any:
        """Stem then stages."""
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return x

    def extra_repr(self) -> str:
        return f"block={self.block_name!r}, layers={self.layers}, out_channels={self.out_channels}"


class UNetBody(nn.Module):
    """U-Net (UResNet): residual encoder, transposed-conv decoder with skip concatenation.

    Args:
        ops: operator set.
        in_channels: input channels.
        channels: width per level, e.g. ``(16, 32, 64, 128)``; the grid halves per level.
        reps: residual blocks per level and per decoder step.

    Shapes:
        - **input:** (B, in, *S)  - **output:** (B, channels[0], *S) (full resolution)
    """

    def __init__(self, ops: DenseOps | SparseOps, in_channels: int,
                 channels: Sequence[int] = (16, 32, 64, 128), reps: int = 1) -> None:
        super().__init__()
        ch = tuple(channels)
        self.ops, self.channels, self.reps = ops, ch, reps
        self.stem = nn.Sequential(ops.conv(in_channels, ch[0], 3), ops.bn(ch[0]), ops.relu())
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        for i, c in enumerate(ch):
            if i > 0:
                self.down.append(nn.Sequential(ops.conv(ch[i - 1], c, stride=2), ops.bn(c), ops.relu()))
            self.enc.append(nn.Sequential(*[BasicBlock(ops, c, c) for _ in range(reps)]))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(len(ch) - 2, -1, -1):
            self.up.append(nn.Sequential(ops.conv_transpose(ch[i + 1], ch[i]), ops.bn(ch[i]), ops.relu()))
            blocks = [BasicBlock(ops, 2 * ch[i], ch[i])] + [BasicBlock(ops, ch[i], ch[i]) for _ in range(reps - 1)]
            self.dec.append(nn.Sequential(*blocks))
        self.out_channels = ch[0]
        self.downsample = 2 ** (len(ch) - 1)

    def forward(self, x: Any) -> Any:
        """Encoder, then decoder with skips; returns full-resolution features."""
        x = self.enc[0](self.stem(x))
        skips = [x]
        for down, enc in zip(self.down, self.enc[1:]):
            x = enc(down(x))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(self.ops.cat(up(x), skip))
        return x

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reps={self.reps}"
