from __future__ import annotations

import math

import pytest
import torch

from hepgraph.errors import ConfigError, DataError
from hepgraph.events import collate_events
from hepgraph.represent.graph import layer_graph, to_graph


def test_to_graph_knn(tiny_batch):
    g = to_graph(tiny_batch, method="knn", k=4)
    assert g.num_graphs == 3
    assert torch.equal(g.x, tiny_batch.feats) and torch.equal(g.pos, tiny_batch.pos)
    assert g.edge_index.shape == (2, (40 + 25) * 4)
    assert torch.equal(g.batch[g.edge_index[0]], g.batch[g.edge_index[1]])


def test_to_graph_radius_needs_r(tiny_batch):
    with pytest.raises(ConfigError, match="r=<mm>"):
        to_graph(tiny_batch, method="radius")
    g = to_graph(tiny_batch, method="radius", r=80.0)
    d = (g.pos[g.edge_index[0]] - g.pos[g.edge_index[1]]).norm(dim=1)
    assert (d <= 80.0).all()


def test_layers_matches_brute_force(event_factory):
    events = event_factory([120, 0, 90], seed=4, layers=5)
    b = collate_events(events, features=["charge"])
    dphi, dz = 0.6, 80.0
    ei = layer_graph(b.pos, b.ptr, b.hit["layer"], dphi=dphi, dz=dz)
    phi = torch.atan2(b.pos[:, 1].double(), b.pos[:, 0].double())
    ev, lay, z = b.batch, b.hit["layer"].long(), b.pos[:, 2]
    dp = (phi[None, :] - phi[:, None] + math.pi) % (2 * math.pi) - math.pi  # [i, j]
    ok = (ev[:, None] == ev[None, :]) & (lay[None, :] == lay[:, None] + 1)
    ok &= (dp.abs() <= dphi) & ((z[None, :] - z[:, None]).abs() <= dz)
    ref = set(map(tuple, ok.nonzero().tolist()))
    got = set(map(tuple, ei.t().tolist()))
    assert got == ref and len(ref) > 50


def test_layers_max_gap_skips_a_missing_layer(event_factory):
    events = event_factory([150, 0, 80], seed=6, layers=6)
    b = collate_events(events, features=["charge"])
    dphi = 0.5
    ei = to_graph(b, method="layers", dphi=dphi, max_gap=2).edge_index
    phi = torch.atan2(b.pos[:, 1].double(), b.pos[:, 0].double())
    ev, lay = b.batch, b.hit["layer"].long()
    dp = (phi[None, :] - phi[:, None] + math.pi) % (2 * math.pi) - math.pi
    gap = lay[None, :] - lay[:, None]
    ok = (ev[:, None] == ev[None, :]) & (gap >= 1) & (gap <= 2) & (dp.abs() <= dphi)
    assert set(map(tuple, ei.t().tolist())) == set(map(tuple, ok.nonzero().tolist()))
    assert ((gap == 2) & ok).any()  # edges that jump over one layer exist


def test_layers_needs_layer_column(tiny_batch):
    with pytest.raises(DataError, match="`layer`"):
        to_graph(tiny_batch, method="layers")
