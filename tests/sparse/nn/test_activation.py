from __future__ import annotations

import torch

from hepgraph.sparse import nn
from tests.sparse.helpers import random_tensor


def test_relu_and_dropout():
    x = random_tensor(3, 6, [30], 4)
    assert torch.equal(nn.ReLU()(x).feats, x.feats.clamp(min=0))
    d = nn.Dropout(0.5)
    d.eval()
    assert torch.equal(d(x).feats, x.feats)
    d.train()
    out = d(x).feats
    assert bool(((out == 0) | torch.isclose(out, 2 * x.feats)).all())
    assert repr(d) == "Dropout(p=0.5)"
