"""Feature-wise activation and dropout modules."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from hepgraph.sparse.tensor import SparseTensor


class ReLU(nn.Module):
    """ReLU of the features.

    Args:
        inplace: modify the features in place.

    Shapes:
        - **input / output:** (N, C) features on the same coordinates
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def forward(self, x: SparseTensor) -> SparseTensor:
        """Apply ReLU."""
        return x.replace(F.relu(x.feats, inplace=self.inplace))


class Dropout(nn.Module):
    """Dropout of the features (each site and channel independently).

    Args:
        p: drop probability.

    Shapes:
        - **input / output:** (N, C) features on the same coordinates
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: SparseTensor) -> SparseTensor:
        """Apply dropout in training mode; identity in eval mode."""
        return x.replace(F.dropout(x.feats, self.p, self.training))
