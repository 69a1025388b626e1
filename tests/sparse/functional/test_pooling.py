from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepgraph.sparse import nn
from tests.sparse.helpers import DEVICES, at_sites, random_tensor


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1)])
def test_max_pool_matches_dense_on_positive_feats(device, k, s):
    x = random_tensor(3, 8, [40, 0, 30], 3, device=device)
    x = x.replace(x.feats.detach().abs() + 0.1)  # positive: dense zeros never win
    y = nn.MaxPool(k, s)(x)
    ref = F.max_pool3d(x.dense([8, 8, 8]), k, s, padding=(k - 1) // 2)
    torch.testing.assert_close(y.feats, at_sites(ref, y.coords))


@pytest.mark.parametrize("device", DEVICES)
def test_global_pools_per_entry_with_empty_entry(device):
    x = random_tensor(3, 6, [10, 0, 7], 2, device=device)
    avg, mx = nn.GlobalAvgPool()(x), nn.GlobalMaxPool()(x)
    assert avg.shape == mx.shape == (3, 2)
    for b in range(3):
        sel = x.feats[x.batch == b]
        if len(sel):
            torch.testing.assert_close(avg[b], sel.mean(0))
            torch.testing.assert_close(mx[b], sel.amax(0))
        else:
            assert avg[b].abs().sum() == 0 and mx[b].abs().sum() == 0
    (avg.sum() + mx.sum()).backward()
    assert x.feats.grad is not None
