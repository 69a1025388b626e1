"""Batch normalisation over the active sites."""

from __future__ import annotations

from torch import nn

from hepgraph.sparse.tensor import SparseTensor


class BatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the (N, C) features of a sparse tensor (all active sites of
    the batch are the statistics sample; inactive sites do not count).

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: running-statistics momentum.
        affine: learnable scale and shift.
        track_running_stats: keep running statistics for eval mode.

    Shapes:
        - **input / output:** (N, C) features on the same coordinates
    """

    def forward(self, x: SparseTensor) -> SparseTensor:  # type: ignore[override]
        """Normalise the features of ``x``."""
        return x.replace(super().forward(x.feats))
