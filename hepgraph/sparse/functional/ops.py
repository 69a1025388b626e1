"""Feature-wise ops on sparse tensors: residual add, channel concat, activations, norms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hepgraph.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.tensor import SparseTensor


def add(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """Residual sum of two tensors on the same sites (same channels)."""
    return a + b


def cat(tensors: Sequence[SparseTensor]) -> SparseTensor:
    """Concatenate channels of tensors on the same sites."""
    if not tensors:
        raise DataError("cat() needs at least one sparse tensor")
    for t in tensors[1:]:
        tensors[0].check_same_sites(t)
    return tensors[0].replace(torch.cat([t.feats for t in tensors], dim=1))


def apply_feats(
    x: SparseTensor, fn: Callable[..., Tensor], *args: Any, **kwargs: Any
) -> SparseTensor:
    """``x`` with features ``fn(x.feats, *args, **kwargs)`` (row count unchanged)."""
    return x.replace(fn(x.feats, *args, **kwargs))


def relu(x: SparseTensor, inplace: bool = False) -> SparseTensor:
    """ReLU of the features."""
    return x.replace(F.relu(x.feats, inplace=inplace))


def dropout(x: SparseTensor, p: float = 0.5, training: bool = True) -> SparseTensor:
    """Dropout of the features (each site and channel independently)."""
    return x.replace(F.dropout(x.feats, p=p, training=training))


def batch_norm(
    x: SparseTensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> SparseTensor:
    """Batch normalisation over the active sites (statistics of the (N, C) features)."""
    return x.replace(
        F.batch_norm(x.feats, running_mean, running_var, weight, bias, training, momentum, eps)
    )
