"""hepgraph.sparse: sparse tensors and sparse convolutions in pure PyTorch (CPU and GPU).

Three tiers, each importing only from the ones below it: :mod:`hepgraph.sparse.nn`
(modules with parameters) -> :mod:`hepgraph.sparse.functional` (stateless ops) ->
:mod:`hepgraph.sparse.backends` (``torch`` by default: hashing, kernel maps and the
gather -> GEMM -> scatter kernels; ``minkowski`` where MinkowskiEngine is installed).
:class:`SparseTensor` and its :class:`CoordinateManager` (coordinate sets and cached
kernel maps) sit beside them and import only from the ``torch`` backend.

>>> import torch
>>> from hepgraph.sparse import SparseTensor, nn
>>> x = SparseTensor(torch.tensor([[0, 1, 1, 1], [0, 1, 2, 1]]), torch.ones(2, 4))
>>> nn.SubmConv3d(4, 8)(x).feats.shape
torch.Size([2, 8])
"""

from __future__ import annotations

from hepgraph.sparse import nn
from hepgraph.sparse.backends import current_backend, get_backend, set_backend
from hepgraph.sparse.functional.ops import add, cat
from hepgraph.sparse.manager import CoordinateManager
from hepgraph.sparse.tensor import SparseTensor

__all__ = [
    "CoordinateManager",
    "SparseTensor",
    "add",
    "cat",
    "current_backend",
    "get_backend",
    "nn",
    "set_backend",
]
