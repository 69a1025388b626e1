"""One architecture, several operators: dense 3D and sparse twins agree on a full grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.events import collate_events
from hepgraph.models import create_model
from hepgraph.models.blocks import BasicBlock, Bottleneck
from hepgraph.models.ops import DenseOps

G, VOX = 8, 10.0
EXTENT = [[0.0, G * VOX]] * 3


def _full_grid_batch(n_events=2, seed=0):
    rng = np.random.default_rng(seed)
    ijk = np.stack(np.meshgrid(*[np.arange(G)] * 3, indexing="ij"), -1).reshape(-1, 3)
    events = []
    for e in range(n_events):
        p = rng.permutation(len(ijk))  # hit order must not matter
        xyz = ((ijk[p] + 0.5) * VOX).astype(np.float32)
        events.append({"event_id": e, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                       "charge": rng.uniform(0.1, 2, len(p)).astype(np.float32),
                       "t": rng.normal(size=len(p)).astype(np.float32)})
    return collate_events(events, features=["charge", "t"])


def _randomise_bn(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    for name, buf in model.state_dict().items():
        if name.endswith("running_mean"):
            buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
        elif name.endswith("running_var"):
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
        elif name.endswith("bn1.weight") or name.endswith("bn2.weight"):
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)


@pytest.mark.parametrize("level", ["event", "hit"])
@pytest.mark.parametrize(
    "dense, sparse, kw",
    [("dense-resnet18-3d", "sparse-resnet18", dict(base_channels=4)),
     ("dense-resnet50-3d", "sparse-resnet50", dict(base_channels=2)),
     ("dense-unet-3d", "sparse-unet", dict(channels=(4, 8, 8)))],
)
def test_dense_and_sparse_twins_agree_on_full_grid(dense, sparse, kw, level):
    torch.manual_seed(0)
    d = create_model(dense, in_channels=2, level=level, out_channels=3, image_shape=(G, G, G),
                     extent=EXTENT, **kw)
    s = create_model(sparse, in_channels=2, level=level, out_channels=3, voxel_size=VOX,
                     extent=EXTENT, **kw)
    ds, ss = d.state_dict(), s.state_dict()
    assert {k: v.shape for k, v in ds.items()} == {k: v.shape for k, v in ss.items()}
    _randomise_bn(d)
    s.load_state_dict(d.state_dict())
    d.eval(), s.eval()
    b = _full_grid_batch()
    with torch.no_grad():
        yd, ys = d(b)["out"], s(b)["out"]
    assert yd.shape == ys.shape and float(yd.std()) > 1e-3
    torch.testing.assert_close(ys, yd, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_blocks_residual_shapes(block):
    ops = DenseOps(2)
    blk = block(ops, 8, 4)
    x = torch.randn(2, 8, 6, 6)
    y = blk(x)
    assert y.shape == (2, 4 * block.expansion, 6, 6) and (y >= 0).all()
    assert "8 ->" in repr(blk)
