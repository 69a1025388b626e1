"""Sparse nn modules (parameters, repr); compute in :mod:`hepgraph.sparse.functional`."""

from __future__ import annotations

from hepgraph.sparse.nn.activation import Dropout, ReLU
from hepgraph.sparse.nn.conv import Conv2d, Conv3d, SparseConvNd
from hepgraph.sparse.nn.norm import BatchNorm
from hepgraph.sparse.nn.pooling import GlobalAvgPool, GlobalMaxPool, MaxPool
from hepgraph.sparse.nn.submanifold import SubmConv2d, SubmConv3d
from hepgraph.sparse.nn.transpose import ConvTranspose2d, ConvTranspose3d

__all__ = [
    "BatchNorm",
    "Conv2d",
    "Conv3d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Dropout",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "MaxPool",
    "ReLU",
    "SparseConvNd",
    "SubmConv2d",
    "SubmConv3d",
]
