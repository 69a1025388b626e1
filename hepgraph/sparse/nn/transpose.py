"""Transposed sparse convolutions: back to the finer coordinates of the matching strided conv."""

from __future__ import annotations

from collections.abc import Sequence

from hepgraph.sparse.nn.conv import SparseConvNd


class ConvTranspose3d(SparseConvNd):
    """Transposed sparse 3D convolution.

    Output sites are the coordinate set at tensor stride ``S / stride`` of the same
    coordinate manager (where the matching :class:`~hepgraph.sparse.nn.Conv3d` came from);
    if none exists, every ``o * stride + d_j`` is generated. Equals
    ``F.conv_transpose3d(x.dense(), conv.dense_weight(), stride=stride,
    padding=dilation * ((k - 1) // 2), dilation=dilation)`` at the output sites.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: int or 3 ints (default 2).
        stride: int or 3 ints (default 2).
        dilation: int or 3 ints.
        bias: add a learnable bias.
        backend: sparse backend name; default the current one.

    Shapes:
        - **input:** (N, C_in) features at tensor stride S
        - **output:** (N', C_out) features at tensor stride S / stride
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 2,
        stride: int | Sequence[int] = 2,
        dilation: int | Sequence[int] = 1,
        bias: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__(
            3, in_channels, out_channels, kernel_size, stride, dilation, bias, "up", backend
        )


class ConvTranspose2d(SparseConvNd):
    """Transposed sparse 2D convolution (see :class:`ConvTranspose3d`)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 2,
        stride: int | Sequence[int] = 2,
        dilation: int | Sequence[int] = 1,
        bias: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__(
            2, in_channels, out_channels, kernel_size, stride, dilation, bias, "up", backend
        )
