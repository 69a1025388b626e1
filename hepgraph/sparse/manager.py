"""Coordinate manager: the coordinate sets of one sparse tensor family and their kernel maps.

Every tensor derived from one input (by convolutions, pooling, feature ops) shares one
:class:`CoordinateManager`. It holds one coordinate set per tensor stride and caches kernel
maps by ``(kind, stride, kernel_size, conv stride, dilation)``, so all layers with the same
geometry share one map, and a transposed convolution finds the finer coordinates its
matching strided convolution came from.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hepgraph.errors import DataError
from hepgraph.sparse.backends.torch.hashing import check_coords, kernel_offsets
from hepgraph.sparse.backends.torch.kernel_map import (
    KernelMap,
    downsample,
    strided_map,
    submanifold_map,
    upsample,
)

Stride = tuple[int, ...]


class CoordinateManager:
    """Coordinate sets per tensor stride plus a kernel-map cache.

    Args:
        ndim: D, the number of spatial dimensions.
        batch_size: B, number of batch entries (keeps trailing empty entries).
        device: where the coordinates live.
    """

    def __init__(self, ndim: int, batch_size: int, device: torch.device) -> None:
        self.ndim = ndim
        self.batch_size = batch_size
        self.device = torch.device(device)
        self._coords: dict[Stride, Tensor] = {}
        self._maps: dict[tuple, KernelMap] = {}
        self.backend_state: dict[str, object] = {}

    def __repr__(self) -> str:
        sets = ", ".join(f"{s}: {c.shape[0]}" for s, c in self._coords.items())
        return (
            f"CoordinateManager(ndim={self.ndim}, batch_size={self.batch_size}, "
            f"sets={{{sets}}}, maps={len(self._maps)})"
        )

    @property
    def strides(self) -> list[Stride]:
        """Tensor strides with a registered coordinate set."""
        return list(self._coords)

    def register(self, stride: Stride, coords: Tensor) -> None:
        """Register the coordinate set of a tensor stride (unique rows, (N, 1+D) int64)."""
        self._coords[tuple(stride)] = coords

    def coords(self, stride: Stride) -> Tensor:
        """The coordinate set at ``stride``."""
        return self._coords[tuple(stride)]

    def has(self, stride: Stride) -> bool:
        """Whether a coordinate set is registered at ``stride``."""
        return tuple(stride) in self._coords

    def clear_cache(self) -> None:
        """Drop cached kernel maps (coordinate sets are kept)."""
        self._maps.clear()

    def to(self, device: torch.device | str) -> CoordinateManager:
        """A copy on ``device`` with the same coordinate sets and no cached maps."""
        out = CoordinateManager(self.ndim, self.batch_size, torch.device(device))
        for s, c in self._coords.items():
            out.register(s, c.to(device))
        return out

    # ---- coordinate sets of derived tensors -------------------------------------------
    def down(self, stride: Stride, conv_stride: Stride) -> Stride:
        """Stride of (and coordinates registered for) a strided conv/pool output."""
        out = tuple(a * b for a, b in zip(stride, conv_stride))
        if out not in self._coords:
            self.register(out, downsample(self.coords(stride), tuple(conv_stride)))
        return out

    def up(
        self, stride: Stride, conv_stride: Stride, kernel_size: Stride, dilation: Stride
    ) -> Stride:
        """Stride of a transposed conv output; generates its coordinates if none are known."""
        if any(a % b for a, b in zip(stride, conv_stride)):
            raise DataError(
                f"a transposed convolution with stride `{tuple(conv_stride)}` cannot be applied "
                f"to a tensor of stride `{tuple(stride)}`: the tensor stride must be divisible "
                "by it (use it after a matching strided convolution)"
            )
        out = tuple(a // b for a, b in zip(stride, conv_stride))
        if out not in self._coords:
            offs = kernel_offsets(kernel_size, dilation, self.device)
            fine = upsample(self.coords(stride), tuple(conv_stride), offs)
            check_coords(fine)
            self.register(out, fine)
        return out

    # ---- kernel maps --------------------------------------------------------------------
    def submanifold_map(self, stride: Stride, kernel_size: Stride, dilation: Stride) -> KernelMap:
        """Cached submanifold kernel map on the set at ``stride``."""
        key = ("subm", tuple(stride), tuple(kernel_size), tuple(dilation))
        if key not in self._maps:
            offs = kernel_offsets(kernel_size, dilation, self.device)
            self._maps[key] = submanifold_map(self.coords(stride), offs)
        return self._maps[key]

    def strided_map(
        self, stride: Stride, conv_stride: Stride, kernel_size: Stride, dilation: Stride
    ) -> KernelMap:
        """Cached map from the set at ``stride`` to the set at ``stride * conv_stride``.

        Shared by strided convolutions, pooling and (transposed) the transposed convolutions
        going back from the coarse set.
        """
        key = ("down", tuple(stride), tuple(conv_stride), tuple(kernel_size), tuple(dilation))
        if key not in self._maps:
            out = self.down(stride, conv_stride)
            offs = kernel_offsets(kernel_size, dilation, self.device)
            self._maps[key] = strided_map(
                self.coords(stride), self.coords(out), tuple(conv_stride), offs
            )
        return self._maps[key]
