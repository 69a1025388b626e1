"""Operator sets: the same ResNet / U-Net definitions built from dense 2D, dense 3D or
sparse 3D operators ("one architecture, several operators", DESIGN.md).

An operator set makes modules and combines tensors:

- ``conv(cin, cout, kernel_size, stride)``: ``stride == 1`` keeps the sites (dense: "same"
  padding; sparse: submanifold); ``stride > 1`` is a ``kernel_size == stride`` strided
  convolution (sites ``floor(coords / stride)``), identical in dense and sparse form on a
  fully occupied grid.
- ``conv_transpose(cin, cout, stride)``: back to the finer grid.
- ``bn``, ``relu``; ``add`` (residual), ``cat`` (channels), ``global_pool`` ((B, C)).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


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
        conv = nn.Conv2d if self.ndim == 2 else nn.Conv3d
        if stride == 1:
            return conv(cin, cout, kernel_size, padding=kernel_size // 2, bias=False)
        return conv(cin, cout, kernel_size=stride, stride=stride, bias=False)

    def conv_transpose(self, cin: int, cout: int, stride: int = 2) -> nn.Module:
        """Transposed convolution, kernel = stride, without bias."""
        conv = nn.ConvTranspose2d if self.ndim == 2 else nn.ConvTranspose3d
        return conv(cin, cout, kernel_size=stride, stride=stride, bias=False)

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
        """Batch normalisation over active sites."""
        return self._nn().BatchNorm(c)

    def relu(self) -> nn.Module:
        """ReLU on the features."""
        return self._nn().ReLU()

    @staticmethod
    def add(a: Any, b: Any) -> Any:
        """Residual sum of two tensors on the same coordinates."""
        return a.replace(feats=a.feats + b.feats)

    @staticmethod
    def cat(a: Any, b: Any) -> Any:
        """Channel concatenation of two tensors on the same coordinates."""
        return a.replace(feats=torch.cat([a.feats, b.feats], dim=1))

    @staticmethod
    def global_pool(x: Any, batch_size: int) -> Tensor:
        """Mean over each batch entry's active sites -> (B, C); empty entries give zeros."""
        f, b = x.feats, x.coords[:, 0].long()
        cnt = torch.bincount(b, minlength=batch_size).clamp(min=1).to(f.dtype).unsqueeze(1)
        return f.new_zeros(batch_size, f.shape[1]).index_add_(0, b, f) / cnt


def make_ops(kind: str, ndim: int) -> DenseOps | SparseOps:
    """``DenseOps(ndim)`` for ``kind="dense"``, ``SparseOps(ndim)`` for ``"sparse"``."""
    return DenseOps(ndim) if kind == "dense" else SparseOps(ndim)
