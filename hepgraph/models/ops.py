"""Operator sets: the same ResNet / U-Net definitions built from dense 2D, dense 3D or
sparse 3D operators ("one architecture, several operators", docs/architecture.md).

An operator set makes modules and combines tensors:

- ``conv(cin, cout, kernel_size, stride)``: ``stride == 1`` keeps the sites (dense: "same"
  padding; sparse: submanifold); ``stride > 1`` is a ``kernel_size == stride`` strided
  convolution (sites ``floor(coords / stride)``), identical in dense and sparse form on a
  fully occupied grid.
- ``conv_transpose(cin, cout, stride)``: back to the finer grid.
- ``bn``, ``relu``; ``add`` (residual), ``cat`` (channels), ``global_pool`` ((B, C)).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DenseConv(nn.Module):
    """Dense convolution whose weight has the sparse engine's layout (K, C_in, C_out).

    So that a dense network and its sparse twin have identical parameter names and
    shapes (weights copy with ``load_state_dict``); :meth:`dense_weight` gives the
    ``F.conv{2,3}d`` layout exactly as :meth:`hepgraph.sparse.nn.SparseConvNd.dense_weight`.

    Args:
        ndim: 2 or 3.
        in_channels, out_channels: channels.
        kernel_size: kernel size (stride-1 convolutions pad ``kernel_size // 2``).
        stride: stride (> 1: kernel = stride, no padding).
        transposed: transposed convolution (kernel = stride).

    Shapes:
        - **input:** (B, C_in, *S)  - **output:** (B, C_out, *S') with S' = S (stride 1),
          S / stride (strided), S * stride (transposed)
    """

    def __init__(self, ndim: int, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, transposed: bool = False) -> None:
        super().__init__()
        self.ndim, self.in_channels, self.out_channels = ndim, in_channels, out_channels
        self.kernel_size = kernel_size if stride == 1 else stride
        self.stride, self.transposed = stride, transposed
        self.weight = nn.Parameter(torch.empty(self.kernel_size**ndim, in_channels, out_channels))
        fan_in = self.kernel_size**ndim * (out_channels if transposed else in_channels)
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)

    def dense_weight(self) -> Tensor:
        """(C_out, C_in, *k) (``conv``) or (C_in, C_out, *k) (``conv_transpose``) layout."""
        d = self.ndim
        w = self.weight.reshape(*([self.kernel_size] * d), self.in_channels, self.out_channels)
        return w.permute(d, d + 1, *range(d)) if self.transposed else w.permute(d + 1, d, *range(d))

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``x`` (B, C_in, *S)."""
        w = self.dense_weight()
        if self.transposed:
            f = F.conv_transpose2d if self.ndim == 2 else F.conv_transpose3d
            return f(x, w, stride=self.stride)
        f = F.conv2d if self.ndim == 2 else F.conv3d
        pad = self.kernel_size // 2 if self.stride == 1 else 0
        return f(x, w, stride=self.stride, padding=pad)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, ndim={self.ndim}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            s += f", stride={self.stride}"
        return s + (", transposed=True" if self.transposed else "")


class SparsePointwise(nn.Module):
    """1x1 sparse convolution as a matmul on the features (no kernel map needed).

    Weight layout (1, C_in, C_out), as ``hepgraph.sparse.nn.SubmConv3d(kernel_size=1)``.

    Shapes:
        - **input:** (N, C_in) features  - **output:** (N, C_out) on the same sites
    """

    def __init__(self, ndim: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.ndim, self.in_channels, self.out_channels = ndim, in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(1, in_channels, out_channels))
        bound = 1.0 / math.sqrt(in_channels)
        nn.init.uniform_(self.weight, -bound, bound)

    def dense_weight(self) -> Tensor:
        """(C_out, C_in, 1, ..., 1) ``F.conv`` layout."""
        return self.weight[0].t().reshape(self.out_channels, self.in_channels, *([1] * self.ndim))

    def forward(self, x: Any) -> Any:
        """``x.feats @ W`` on the same sites."""
        return x.replace(x.feats @ self.weight[0])

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size=1"


class DenseOps:
    """Dense operators on ``[B, C, *spatial]`` tensors, ``ndim`` = 2 or 3."""

    kind = "dense"

    def __init__(self, ndim: int) -> None:
        assert ndim in (2, 3)
        self.ndim = ndim

    def __repr__(self) -> str:
        return f"DenseOps(ndim={self.ndim})"

    def conv(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1) -> nn.Module:
        """Convolution without bias (see module docstring)."""
        return DenseConv(self.ndim, cin, cout, kernel_size, stride)

    def conv_transpose(self, cin: int, cout: int, stride: int = 2) -> nn.Module:
        """Transposed convolution, kernel = stride, without bias."""
        return DenseConv(self.ndim, cin, cout, stride=stride, transposed=True)

    def bn(self, c: int) -> nn.Module:
        """Batch normalisation."""
        return nn.BatchNorm2d(c) if self.ndim == 2 else nn.BatchNorm3d(c)

    def relu(self) -> nn.Module:
        """ReLU."""
        return nn.ReLU()

    @staticmethod
    def add(a: Tensor, b: Tensor) -> Tensor:
        """Residual sum."""
        return a + b

    @staticmethod
    def cat(a: Tensor, b: Tensor) -> Tensor:
        """Channel concatenation."""
        return torch.cat([a, b], dim=1)

    @staticmethod
    def global_pool(x: Tensor, batch_size: int) -> Tensor:
        """Mean over all sites -> (B, C)."""
        return x.flatten(2).mean(-1)


class SparseOps:
    """Sparse 3D operators (``hepgraph.sparse.nn``) on :class:`hepgraph.sparse.SparseTensor`."""

    kind = "sparse"

    def __init__(self, ndim: int = 3) -> None:
        self.ndim = ndim

    def __repr__(self) -> str:
        return f"SparseOps(ndim={self.ndim})"

    @staticmethod
    def _nn() -> Any:
        import hepgraph.sparse.nn as snn

        return snn

    def conv(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1) -> nn.Module:
        """Submanifold (stride 1) or strided (kernel = stride) sparse convolution."""
        snn = self._nn()
        if stride == 1 and kernel_size == 1:
            return SparsePointwise(self.ndim, cin, cout)
        if stride == 1:
            cls = snn.SubmConv3d if self.ndim == 3 else snn.SubmConv2d
            return cls(cin, cout, kernel_size=kernel_size)
        cls = snn.Conv3d if self.ndim == 3 else snn.Conv2d
        return cls(cin, cout, kernel_size=stride, stride=stride)

    def conv_transpose(self, cin: int, cout: int, stride: int = 2) -> nn.Module:
        """Sparse transposed convolution back to the finer coordinates."""
        snn = self._nn()
        cls = snn.ConvTranspose3d if self.ndim == 3 else snn.ConvTranspose2d
        return cls(cin, cout, kernel_size=stride, stride=stride)

    def bn(self, c: int) -> nn.Module:
        """Batch normalisation over active sites (same parameters as ``nn.BatchNorm3d``)."""
        return self._nn().BatchNorm(c)

    def relu(self) -> nn.Module:
        """ReLU on the features."""
        return self._nn().ReLU()

    @staticmethod
    def add(a: Any, b: Any) -> Any:
        """Residual sum of two tensors on the same coordinates."""
        from hepgraph.sparse import add

        return add(a, b)

    @staticmethod
    def cat(a: Any, b: Any) -> Any:
        """Channel concatenation of two tensors on the same coordinates."""
        from hepgraph.sparse import cat

        return cat([a, b])

    @staticmethod
    def global_pool(x: Any, batch_size: int) -> Tensor:
        """Mean over each batch entry's active sites -> (B, C); empty entries give zeros."""
        f, b = x.feats, x.coords[:, 0].long()
        cnt = torch.bincount(b, minlength=batch_size).clamp(min=1).to(f.dtype).unsqueeze(1)
        return f.new_zeros(batch_size, f.shape[1]).index_add_(0, b, f) / cnt


def make_ops(kind: str, ndim: int) -> DenseOps | SparseOps:
    """``DenseOps(ndim)`` for ``kind="dense"``, ``SparseOps(ndim)`` for ``"sparse"``."""
    return DenseOps(ndim) if kind == "dense" else SparseOps(ndim)
