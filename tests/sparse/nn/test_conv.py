from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepgraph.errors import DataError
from hepgraph.sparse import nn
from tests.sparse.helpers import at_sites, random_tensor


def test_dense_weight_layout_and_repr():
    conv = nn.Conv3d(2, 5, kernel_size=(2, 3, 1), stride=2, bias=True)
    assert conv.dense_weight().shape == (5, 2, 2, 3, 1)
    assert "Conv3d(2, 5, kernel_size=(2, 3, 1), stride=(2, 2, 2))" == repr(conv)
    tr = nn.ConvTranspose2d(4, 3, kernel_size=3)
    assert tr.dense_weight().shape == (4, 3, 3, 3)
    assert "bias=False" in repr(nn.SubmConv3d(1, 2))
    w = nn.SubmConv3d(1, 2, backend="torch")
    assert "backend='torch'" in repr(w)


def test_anisotropic_kernel_matches_dense():
    x = random_tensor(3, 8, [40, 20], 2)
    conv = nn.Conv3d(2, 3, kernel_size=(3, 2, 1), stride=(2, 2, 1))
    y = conv(x)
    assert y.stride == (2, 2, 1)
    ref = F.conv3d(x.dense([8, 8, 8]), conv.dense_weight(), stride=(2, 2, 1), padding=(1, 0, 0))
    torch.testing.assert_close(y.feats, at_sites(ref, y.coords), atol=1e-5, rtol=1e-5)


def test_default_init_scale_like_dense():
    conv = nn.SubmConv3d(16, 16)
    bound = 1 / (16 * 27) ** 0.5
    assert conv.weight.abs().max() <= bound


def test_wrong_input_raises():
    x = random_tensor(2, 6, [5], 3)
    with pytest.raises(DataError, match="expects a 3D tensor with 3 channels"):
        nn.SubmConv3d(3, 3)(x)
    with pytest.raises(DataError, match="channels"):
        nn.SubmConv2d(4, 3)(x)
    with pytest.raises(DataError, match="divisible"):
        nn.ConvTranspose2d(3, 3, stride=2)(x)


def test_small_network_trains():
    torch.manual_seed(0)
    x = random_tensor(3, 8, [40, 30], 2)
    net = torch.nn.Sequential(
        nn.SubmConv3d(2, 8), nn.BatchNorm(8), nn.ReLU(), nn.Conv3d(8, 8), nn.ReLU(),
        nn.ConvTranspose3d(8, 1), nn.Dropout(0.0),
    )
    target = torch.randn(len(x), 1)
    losses = []
    for _ in range(30):  # plain SGD: torch.optim's first step imports torch._dynamo (slow)
        net.zero_grad()
        loss = (net(x).feats - target).square().mean()
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.3 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
