from __future__ import annotations

import torch

from hepgraph.sparse import SparseTensor, nn
from tests.sparse.helpers import random_tensor


def test_kernel_maps_shared_between_layers():
    x = random_tensor(3, 8, [30, 20], 4)
    a, b = nn.SubmConv3d(4, 4), nn.SubmConv3d(4, 4)
    a(x)
    m = x.manager
    assert len(m._maps) == 1
    b(x)
    assert len(m._maps) == 1  # same stride and kernel: cache hit
    nn.SubmConv3d(4, 4, kernel_size=5)(x)
    assert len(m._maps) == 2
    y = nn.Conv3d(4, 4)(x)
    assert len(m._maps) == 3 and m.has((2, 2, 2))
    nn.ConvTranspose3d(4, 4)(y)  # reuses the strided map, transposed
    assert len(m._maps) == 3
    assert "sets=" in repr(m)


def test_down_then_up_returns_to_same_coordinates():
    x = random_tensor(3, 8, [30, 0, 20], 2)
    y = nn.Conv3d(2, 3, kernel_size=3, stride=2)(x)
    z = nn.Conv3d(3, 3, kernel_size=2, stride=2)(y)
    assert z.stride == (4, 4, 4)
    back = nn.ConvTranspose3d(3, 2)(nn.ConvTranspose3d(3, 3)(z))
    assert back.stride == (1, 1, 1) and torch.equal(back.coords, x.coords)


def test_to_copies_sets_without_maps():
    x = random_tensor(2, 8, [10], 2)
    nn.SubmConv2d(2, 2)(x)
    y = x.to("cpu")
    assert y.manager is x.manager  # same device: nothing copied
    m2 = x.manager.to("cpu")
    assert m2.strides == x.manager.strides and not m2._maps


def test_dense_equivalence_on_nonzero_origin():
    # negative coordinates are valid for convolutions (not for dense())
    coords = torch.tensor([[0, -3, -1, 0], [0, -2, -1, 0], [0, 5, 5, 5]])
    x = SparseTensor(coords, torch.ones(3, 1))
    y = nn.SubmConv3d(1, 1)(x)
    w = nn.SubmConv3d(1, 1)
    assert y.feats.shape == (3, 1) and w.weight.shape == (27, 1, 1)
