"""Pooling modules: sparse max pooling and global pooling per batch entry."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from hepgraph.sparse.functional.pooling import global_pool, max_pool
from hepgraph.sparse.tensor import SparseTensor, as_tuple


class MaxPool(nn.Module):
    """Max pooling over the active sites of each window (2D or 3D).

    Output sites as for :class:`~hepgraph.sparse.nn.Conv3d` (stride > 1) or the input
    sites (stride 1); equals ``F.max_pool3d`` on the dense tensor at the output sites when
    features are positive (inactive sites are ignored, not zeros).

    Args:
        kernel_size: int or D ints (default 2).
        stride: int or D ints (default 2).
        dilation: int or D ints.

    Shapes:
        - **input:** (N, C) features at tensor stride S
        - **output:** (N', C) features at tensor stride S * stride
    """

    def __init__(
        self,
        kernel_size: int | Sequence[int] = 2,
        stride: int | Sequence[int] = 2,
        dilation: int | Sequence[int] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, dilation={self.dilation}"

    def forward(self, x: SparseTensor) -> SparseTensor:
        """Pool ``x``."""
        d = x.ndim
        return max_pool(
            x,
            as_tuple(self.kernel_size, d, "kernel_size"),
            as_tuple(self.stride, d, "stride"),
            as_tuple(self.dilation, d, "dilation"),
        )


class GlobalAvgPool(nn.Module):
    """Mean over the sites of each batch entry (zeros for empty entries).

    Shapes:
        - **input:** SparseTensor with (N, C) features, B batch entries
        - **output:** (B, C) dense tensor
    """

    def forward(self, x: SparseTensor) -> Tensor:
        """Pool ``x``."""
        return global_pool(x, "mean")


class GlobalMaxPool(nn.Module):
    """Max over the sites of each batch entry (zeros for empty entries).

    Shapes:
        - **input:** SparseTensor with (N, C) features, B batch entries
        - **output:** (B, C) dense tensor
    """

    def forward(self, x: SparseTensor) -> Tensor:
        """Pool ``x``."""
        return global_pool(x, "max")
