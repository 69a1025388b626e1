"""Stateless sparse ops: hashing, kernel maps, convolution, pooling, feature ops."""

from __future__ import annotations

from hepgraph.sparse.functional.conv import SparseConvFunction, sparse_conv
from hepgraph.sparse.functional.convolution import convolution
from hepgraph.sparse.functional.hashing import hash_coords, kernel_offsets, unhash_keys
from hepgraph.sparse.functional.kernel_map import (
    KernelMap,
    downsample,
    strided_map,
    submanifold_map,
    upsample,
)
from hepgraph.sparse.functional.ops import add, apply_feats, batch_norm, cat, dropout, relu
from hepgraph.sparse.functional.pooling import (
    global_avg_pool,
    global_max_pool,
    global_pool,
    max_pool,
)

__all__ = [
    "KernelMap",
    "SparseConvFunction",
    "add",
    "apply_feats",
    "batch_norm",
    "cat",
    "convolution",
    "downsample",
    "dropout",
    "global_avg_pool",
    "global_max_pool",
    "global_pool",
    "hash_coords",
    "kernel_offsets",
    "max_pool",
    "relu",
    "sparse_conv",
    "strided_map",
    "submanifold_map",
    "unhash_keys",
    "upsample",
]
