"""Point, graph and sparse models do not depend on the order of the hits within an event."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from hepgraph.models import create_model, list_models, model_info

NAMES = [n for n in list_models() if model_info(n)["family"] in ("graph", "transformer", "mlp", "sparse")
         and model_info(n)["cls"].__module__.startswith("hepgraph.")]  # not the tests' toy model


def _permute(batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    perm = torch.cat([
        s + torch.randperm(e - s, generator=g)
        for s, e in zip(batch.ptr[:-1].tolist(), batch.ptr[1:].tolist())
    ]).long()
    pb = replace(batch, pos=batch.pos[perm], feats=batch.feats[perm],
                 hit={k: v[perm] for k, v in batch.hit.items()}, _batch=None)
    return pb, perm


@pytest.fixture
def batch(event_factory):
    from hepgraph.events import collate_events

    return collate_events(event_factory([25, 0, 18], seed=7), features=["charge"])


@pytest.mark.parametrize("name", NAMES)
def test_hit_order_invariance(name, batch, kwargs_for):
    levels = model_info(name)["levels"]
    torch.manual_seed(0)
    pb, perm = _permute(batch)
    for level in levels:
        model = create_model(name, in_channels=1, level=level, out_channels=2, **kwargs_for(name)).eval()
        with torch.no_grad():
            a, b = model(batch), model(pb)
        if level == "event":
            torch.testing.assert_close(a["out"], b["out"], atol=1e-4, rtol=1e-4)
        elif level == "hit":
            torch.testing.assert_close(a["out"][perm], b["out"], atol=1e-4, rtol=1e-4)
        else:  # edges of the permuted batch map back through perm
            ea = dict(zip(map(tuple, a["edge_index"].t().tolist()), a["out"][:, 0].tolist()))
            eb = dict(zip(map(tuple, perm[b["edge_index"]].t().tolist()), b["out"][:, 0].tolist()))
            assert ea.keys() == eb.keys()
            assert max(abs(ea[k] - eb[k]) for k in ea) < 1e-4
