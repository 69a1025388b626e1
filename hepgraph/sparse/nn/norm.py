"""Batch normalisation over the active sites."""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

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
        """Normalise the features of ``x``. A training batch with a single active site (one
        event of one voxel, or a deep stride that merged it) has no spread to estimate:
        it is normalised with the running statistics, which it leaves unchanged."""
        if self.training and x.feats.shape[0] <= 1 and self.track_running_stats:
            return x.replace(F.batch_norm(x.feats, self.running_mean, self.running_var, self.weight,
                                          self.bias, False, 0.0, self.eps))
        return x.replace(super().forward(x.feats))
