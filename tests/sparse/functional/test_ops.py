from __future__ import annotations

import pytest
import torch

from hepgraph.errors import DataError
from hepgraph.sparse import add, cat, nn
from hepgraph.sparse.functional.ops import batch_norm, dropout, relu
from tests.sparse.helpers import random_tensor


def test_add_and_cat_on_same_sites():
    x = random_tensor(3, 6, [10, 5], 2)
    y = nn.SubmConv3d(2, 3)(x)
    z = cat([x, y])
    assert z.num_channels == 5 and z.manager is x.manager
    torch.testing.assert_close(add(y, y).feats, 2 * y.feats)
    other = random_tensor(3, 6, [10, 5], 2, seed=9)
    with pytest.raises(DataError, match="different coordinates"):
        add(x, other)
    same = random_tensor(3, 6, [10, 5], 2)  # equal coords, other manager: allowed
    assert add(x, same).num_channels == 2
    with pytest.raises(DataError):
        add(x, nn.Conv3d(2, 2)(x))


def test_feature_ops():
    x = random_tensor(3, 6, [10, 5], 4)
    assert bool((relu(x).feats >= 0).all())
    assert torch.equal(dropout(x, 0.5, training=False).feats, x.feats)
    out = batch_norm(x, None, None, training=True).feats
    torch.testing.assert_close(out.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
