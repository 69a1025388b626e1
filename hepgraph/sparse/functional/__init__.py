"""Stateless ops on :class:`~hepgraph.sparse.SparseTensor`: convolution (dispatched to a
backend), pooling, site lookup and feature ops.

Hashing, kernel maps and the gather -> GEMM -> scatter kernels live one tier below, in
:mod:`hepgraph.sparse.backends.torch`.
"""

from __future__ import annotations

from hepgraph.sparse.functional.convolution import convolution
from hepgraph.sparse.functional.ops import add, apply_feats, batch_norm, cat, dropout, relu
from hepgraph.sparse.functional.pooling import (
    global_avg_pool,
    global_max_pool,
    global_pool,
    max_pool,
)
from hepgraph.sparse.functional.sites import find_sites

__all__ = [
    "add",
    "apply_feats",
    "batch_norm",
    "cat",
    "convolution",
    "dropout",
    "find_sites",
    "global_avg_pool",
    "global_max_pool",
    "global_pool",
    "max_pool",
    "relu",
]
