from __future__ import annotations

from hepgraph.sparse import nn
from tests.sparse.helpers import random_tensor


def test_pool_modules_shapes_and_repr():
    x = random_tensor(2, 8, [20, 0, 10], 3)
    y = nn.MaxPool(2, 2)(x)
    assert y.stride == (2, 2) and y.num_channels == 3
    assert nn.GlobalAvgPool()(x).shape == (3, 3)
    assert nn.GlobalMaxPool()(y).shape == (3, 3)
    assert "kernel_size=2" in repr(nn.MaxPool())
