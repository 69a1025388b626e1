"""Sparse ResNet options: event pooling (``pool``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.events import collate_events
from hepgraph.models import create_model

EXTENT = [[0.0, 200.0]] * 3


def _batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    events = []
    for e, n in enumerate((40, 7)):
        xyz = rng.uniform(0, 200, (n, 3)).astype(np.float32)
        events.append({"event_id": e, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                       "charge": rng.uniform(0.1, 2, n).astype(np.float32)})
    return collate_events(events, features=["charge"])


def test_mean_max_pool_feeds_mean_and_max_of_each_event():
    torch.manual_seed(0)
    m = create_model("sparse-resnet18", in_channels=1, level="event", out_channels=3, base_channels=4,
                     voxel_size=20.0, extent=EXTENT, pool="mean_max").eval()
    seen = {}
    m.body.register_forward_hook(lambda mod, inp, out: seen.update(body=out))     # hooks return None
    m.head.register_forward_hook(lambda mod, inp, out: seen.update(head_in=inp[0]))
    b = _batch()
    with torch.no_grad():
        out = m(b)["out"]
    assert out.shape == (2, 3) and torch.isfinite(out).all()
    y = seen["body"]
    c = y.feats.shape[1]
    want = []
    for e in range(2):
        f = y.feats[y.coords[:, 0] == e]                      # (sites of event e, C)
        want.append(torch.cat([f.mean(0), f.max(0).values]))
    torch.testing.assert_close(seen["head_in"], torch.stack(want))
    assert seen["head_in"].shape == (2, 2 * c)
    assert "pool='mean_max'" in repr(m)


def test_mean_max_count_pool_appends_log_site_counts():
    torch.manual_seed(0)
    m = create_model("sparse-resnet18", in_channels=1, level="event", out_channels=3, base_channels=4,
                     voxel_size=20.0, extent=EXTENT, pool="mean_max_count").eval()
    seen = {}
    m.body.register_forward_hook(lambda mod, inp, out: seen.update(body=out))
    m.head.register_forward_hook(lambda mod, inp, out: seen.update(head_in=inp[0]))
    b = _batch()
    with torch.no_grad():
        m(b)
    y, c = seen["body"], seen["body"].feats.shape[1]
    head_in = seen["head_in"]
    assert head_in.shape == (2, 2 * c + 2)
    pos = b.pos.numpy()
    for e in range(2):
        # input sites: distinct 20 mm voxels of the event's hits, counted here from the positions
        vox = np.unique(np.floor(pos[b.batch.numpy() == e] / 20.0).astype(int), axis=0)
        f = y.feats[y.coords[:, 0] == e]
        torch.testing.assert_close(head_in[e, :2 * c], torch.cat([f.mean(0), f.max(0).values]))
        assert head_in[e, 2 * c].item() == pytest.approx(np.log1p(len(vox)), rel=1e-6)
        assert head_in[e, 2 * c + 1].item() == pytest.approx(np.log1p(len(f)), rel=1e-6)
    # event 0 (40 hits) has more voxels than event 1 has hits (7): rows swapped between events fail
    assert len(np.unique(np.floor(pos[:40] / 20.0).astype(int), axis=0)) > 7


def test_default_pool_is_mean_and_unknown_pool_is_refused():
    m = create_model("sparse-resnet18", in_channels=1, level="event", out_channels=3, base_channels=4,
                     voxel_size=20.0, extent=EXTENT)
    assert m.pool == "mean" and "pool=" not in repr(m)
    with pytest.raises(ConfigError, match="pool `median` is unknown"):
        create_model("sparse-resnet18", in_channels=1, level="event", out_channels=3, pool="median")
