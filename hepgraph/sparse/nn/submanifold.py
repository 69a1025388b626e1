"""Submanifold sparse convolutions: output sites = input sites."""

from __future__ import annotations

from collections.abc import Sequence

from hepgraph.sparse.nn.conv import SparseConvNd


class SubmConv3d(SparseConvNd):
    """Submanifold sparse 3D convolution (Graham et al., https://arxiv.org/abs/1706.01307).

    Equals ``F.conv3d(x.dense(), conv.dense_weight(), padding=dilation * (k // 2),
    dilation=dilation)`` at the active sites (odd ``k``).

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: int or 3 ints (default 3).
        dilation: int or 3 ints.
        bias: add a learnable bias.
        backend: sparse backend name; default the current one.

    Shapes:
        - **input:** (N, C_in) features
        - **output:** (N, C_out) features on the same coordinates
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        dilation: int | Sequence[int] = 1,
        bias: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__(
            3, in_channels, out_channels, kernel_size, 1, dilation, bias, "subm", backend
        )


class SubmConv2d(SparseConvNd):
    """Submanifold sparse 2D convolution (see :class:`SubmConv3d`)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        dilation: int | Sequence[int] = 1,
        bias: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__(
            2, in_channels, out_channels, kernel_size, 1, dilation, bias, "subm", backend
        )
