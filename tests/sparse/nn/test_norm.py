from __future__ import annotations

import torch

from hepgraph.sparse import nn
from tests.sparse.helpers import random_tensor


def test_batchnorm_uses_active_sites_only():
    x = random_tensor(3, 6, [30, 0, 20], 4)
    bn = nn.BatchNorm(4)
    y = bn(x)
    ref = torch.nn.functional.batch_norm(x.feats, None, None, training=True)
    torch.testing.assert_close(y.feats, ref)
    assert y.manager is x.manager
    assert "BatchNorm(4" in repr(bn)
