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


def test_batchnorm_of_a_single_site_uses_the_running_statistics():
    from hepgraph.sparse import SparseTensor

    bn = nn.BatchNorm(3)
    bn.running_mean.fill_(2.0)
    bn.running_var.fill_(4.0)
    one = SparseTensor.from_points(torch.tensor([[0, 5, 5, 5]]), torch.tensor([[4.0, 2.0, 0.0]]), "sum", batch_size=1)
    y = bn(one)  # training mode: torch's BatchNorm1d refuses one value per channel
    torch.testing.assert_close(y.feats, (one.feats - 2.0) / torch.sqrt(torch.tensor(4.0 + bn.eps)))
    assert torch.equal(bn.running_mean, torch.full((3,), 2.0)) and int(bn.num_batches_tracked) == 0
    y.feats.sum().backward()  # the affine parameters still learn
    assert bn.weight.grad is not None
