"""Pooling: sparse max pooling and global pooling per batch entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.tensor import SparseTensor


def max_pool(
    x: SparseTensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> SparseTensor:
    """Max over the active inputs of each kernel window.

    With stride 1 the output sites are the input sites (submanifold pooling); otherwise
    they are ``unique(floor(coords / stride))`` as for a strided convolution, with the same
    windows (``o * stride + dilation * (j - (k - 1) // 2)``).

    Args:
        x: input tensor.
        kernel_size: D window sizes.
        stride: D strides.
        dilation: D dilations.

    Returns:
        Pooled tensor (same channels).
    """
    m = x.manager
    stride, kernel_size, dilation = tuple(stride), tuple(kernel_size), tuple(dilation)
    if all(s == 1 for s in stride):
        kmap, out_stride = m.submanifold_map(x.stride, kernel_size, dilation), x.stride
    else:
        kmap = m.strided_map(x.stride, stride, kernel_size, dilation)
        out_stride = m.down(x.stride, stride)
    in_idx, out_idx = kmap.in_idx, kmap.out_idx
    if kmap.identity is not None:
        ar = torch.arange(len(x), device=x.device)
        in_idx, out_idx = torch.cat([in_idx, ar]), torch.cat([out_idx, ar])
    c = x.num_channels
    out = x.feats.new_zeros((kmap.n_out, c)).scatter_reduce(
        0, out_idx.unsqueeze(1).expand(-1, c), x.feats[in_idx], "amax", include_self=False
    )
    return type(x).derived(m, out_stride, out)


def global_pool(x: SparseTensor, reduce: str) -> Tensor:
    """Pool all sites of each batch entry: (B, C); empty entries give zeros.

    Args:
        x: input tensor.
        reduce: ``mean``, ``sum`` or ``max``.

    Returns:
        (B, C) tensor.
    """
    b, c = x.batch_size, x.num_channels
    idx = x.batch
    if reduce == "max":
        return x.feats.new_zeros((b, c)).scatter_reduce(
            0, idx.unsqueeze(1).expand(-1, c), x.feats, "amax", include_self=False
        )
    out = x.feats.new_zeros((b, c)).index_add(0, idx, x.feats)
    if reduce == "mean":
        cnt = torch.bincount(idx, minlength=b).clamp(min=1).to(out.dtype)
        out = out / cnt.unsqueeze(1)
    return out


def global_avg_pool(x: SparseTensor) -> Tensor:
    """(B, C) mean over the sites of each batch entry (zeros for empty entries)."""
    return global_pool(x, "mean")


def global_max_pool(x: SparseTensor) -> Tensor:
    """(B, C) max over the sites of each batch entry (zeros for empty entries)."""
    return global_pool(x, "max")
