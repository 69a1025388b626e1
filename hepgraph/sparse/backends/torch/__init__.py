"""The default backend: pure PyTorch (CPU and GPU).

Modules: :mod:`.hashing` (coordinates <-> int64 keys, kernel offsets), :mod:`.kernel_map`
(neighbour search and kernel maps; the coordinate manager caches them) and :mod:`.conv`
(gather -> GEMM -> scatter-add with its backward). Nothing here imports from
:mod:`hepgraph.sparse.functional` or :mod:`hepgraph.sparse.nn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from hepgraph.sparse.backends.torch.conv import sparse_conv

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.tensor import SparseTensor


def require() -> None:
    """Nothing to check: PyTorch is always there."""


def convolution(
    x: SparseTensor,
    weight: Tensor,
    bias: Tensor | None,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    mode: str,
) -> SparseTensor:
    """See :func:`hepgraph.sparse.functional.convolution`."""
    m = x.manager
    if mode == "subm":
        kmap = m.submanifold_map(x.stride, kernel_size, dilation)
        out_stride = x.stride
    elif mode == "down":
        kmap = m.strided_map(x.stride, stride, kernel_size, dilation)
        out_stride = m.down(x.stride, stride)
    else:
        out_stride = m.up(x.stride, stride, kernel_size, dilation)
        kmap = m.strided_map(out_stride, stride, kernel_size, dilation).transposed()
    feats = sparse_conv(x.feats, weight, kmap, bias)
    return type(x).derived(m, out_stride, feats)
