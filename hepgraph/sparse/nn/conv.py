"""Sparse convolution modules: the shared base and the strided ``Conv2d`` / ``Conv3d``.

.. math::
    \\mathbf{y}_o = \\sum_{j} W_j^\\top \\mathbf{x}_{o \\cdot s + d_j} + b,

summed over the kernel offsets ``d_j`` whose input site is active (Choy et al., "4D
Spatio-Temporal ConvNets", https://arxiv.org/abs/1904.08755; Graham et al., "Submanifold
Sparse Convolutional Networks", https://arxiv.org/abs/1706.01307).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hepgraph.errors import DataError
from hepgraph.sparse.functional.convolution import convolution
from hepgraph.sparse.tensor import SparseTensor, as_tuple


class SparseConvNd(nn.Module):
    """Base of the sparse convolutions: weight (K, C_in, C_out), optional bias.

    Args:
        ndim: D, spatial dimensions (2 or 3).
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: int or D ints.
        stride: int or D ints.
        dilation: int or D ints.
        bias: add a learnable bias.
        mode: ``subm``, ``down`` or ``up`` (see :func:`hepgraph.sparse.functional.convolution`).
        backend: sparse backend name; default the current one.

    Shapes:
        - **input:** SparseTensor with (N, C_in) features
        - **output:** SparseTensor with (N', C_out) features
    """

    def __init__(
        self,
        ndim: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int],
        dilation: int | Sequence[int],
        bias: bool,
        mode: str,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.ndim = ndim
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = as_tuple(kernel_size, ndim, "kernel_size")
        self.stride = as_tuple(stride, ndim, "stride")
        self.dilation = as_tuple(dilation, ndim, "dilation")
        self.mode = mode
        self.backend = backend
        volume = math.prod(self.kernel_size)
        self.weight = nn.Parameter(torch.empty(volume, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as ``nn.Conv3d``'s default."""
        fan = self.out_channels if self.mode == "up" else self.in_channels
        fan_in = self.weight.shape[0] * fan
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.mode != "subm":
            s += f", stride={self.stride}"
        if any(d != 1 for d in self.dilation):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        if self.backend is not None:
            s += f", backend={self.backend!r}"
        return s

    def dense_weight(self) -> Tensor:
        """The kernel in ``F.conv{D}d`` layout (C_out, C_in, *k) (``F.conv_transpose`` layout
        (C_in, C_out, *k) for transposed convolutions); differentiable view of ``weight``."""
        w = self.weight.reshape(*self.kernel_size, self.in_channels, self.out_channels)
        d = self.ndim
        if self.mode == "up":
            return w.permute(d, d + 1, *range(d))
        return w.permute(d + 1, d, *range(d))

    def forward(self, x: SparseTensor) -> SparseTensor:
        """Apply the convolution.

        Shapes:
            - **x:** (N, C_in) features on (N, 1+D) coordinates
            - **output:** (N', C_out) features
        """
        if x.ndim != self.ndim or x.num_channels != self.in_channels:
            raise DataError(
                f"{type(self).__name__} expects a {self.ndim}D tensor with {self.in_channels} "
                f"channels, got `{x.ndim}D, {x.num_channels} channels`"
            )
        return convolution(
            x, self.weight, self.bias, self.kernel_size, self.stride, self.dilation,
            self.mode, self.backend,
        )


class Conv3d(SparseConvNd):
    """Strided sparse 3D convolution: output sites ``unique(floor(coords / stride))``.

    Equals ``F.conv3d(x.dense(), conv.dense_weight(), stride=stride,
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
        - **output:** (N', C_out) features at tensor stride S * stride
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
            3, in_channels, out_channels, kernel_size, stride, dilation, bias, "down", backend
        )


class Conv2d(SparseConvNd):
    """Strided sparse 2D convolution (see :class:`Conv3d`)."""

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
            2, in_channels, out_channels, kernel_size, stride, dilation, bias, "down", backend
        )
