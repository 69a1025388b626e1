"""Event pooling of the sparse ResNet: ``sum`` is the per-event sum of the final sites'
features (= mean x active sites), so the head sees how many sites there were."""

from __future__ import annotations

import torch

from hepgraph.events import collate_events
from hepgraph.models import create_model
from hepgraph.represent.sparse import to_sparse

EXTENT = [[-400.0, 400.0]] * 3


def _pooled(model, batch):
    seen = []
    model.head.register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    model(batch)
    return seen[0]


def test_sum_pool_is_mean_times_active_sites(event_factory):
    batch = collate_events(event_factory([40, 0, 7], seed=2), features=["charge"])
    kw = dict(in_channels=1, level="event", out_channels=3, base_channels=4, voxel_size=60.0,
              extent=EXTENT, head_hidden=8)
    torch.manual_seed(0)
    summed = create_model("sparse-resnet18", pool="sum", **kw).eval()
    torch.manual_seed(0)
    mean = create_model("sparse-resnet18", pool="mean", **kw).eval()
    with torch.no_grad():
        y = summed.body(to_sparse(batch, summed.voxel_size, summed.reduce, summed.extent))
        sites = torch.bincount(y.coords[:, 0].long(), minlength=batch.batch_size).unsqueeze(1).float()
        s, m = _pooled(summed, batch), _pooled(mean, batch)
    assert sites[1] == 0 and (s[1] == 0).all()
    torch.testing.assert_close(s, m * sites)
