"""Site lookup: the row of a sparse tensor holding each queried coordinate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from hepgraph.sparse.backends.torch.hashing import hash_coords

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.tensor import SparseTensor


def find_sites(x: SparseTensor, query: Tensor) -> Tensor:
    """Row of ``x`` at each query coordinate (same tensor stride); -1 where ``x`` has no site.

    Args:
        x: the tensor whose sites are searched.
        query: (M, 1+D) integer coordinates, batch index in column 0, in ``x``'s index space
            (``floor(stride-1 coordinates / x.stride)``).

    Returns:
        (M,) int64 rows of ``x`` (or -1).
    """
    keys = hash_coords(x.coords)
    q = hash_coords(query.long())
    if keys.numel() == 0:
        return torch.full_like(q, -1)
    sk, order = torch.sort(keys)
    pos = torch.searchsorted(sk, q).clamp(max=sk.numel() - 1)
    found = sk[pos] == q
    return torch.where(found, order[pos], torch.full_like(pos, -1))
