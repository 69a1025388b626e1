"""Registry-driven smoke tests: every model x every level it supports."""

from __future__ import annotations

import pytest
import torch

from hepgraph.models import create_model, list_models, model_info

# generators (level `generate`) map particles to hits, not hits to outputs: tests/models/generative
#: Shipped models (tests/train registers a toy model when its conftest loads, which depends on
#: the order pytest meets the directories).
SHIPPED = [n for n in list_models() if model_info(n)["cls"].__module__.startswith("hepgraph.")]
CASES = [(n, lvl) for n in SHIPPED for lvl in model_info(n)["levels"] if lvl != "generate"]


@pytest.fixture
def batch(event_factory):
    from hepgraph.events import collate_events

    events = event_factory([30, 0, 17, 1], seed=5)  # an empty event and a single-hit event
    return collate_events(events, features=["charge", ["x", 0.0, 0.01]])


@pytest.mark.parametrize("name, level", CASES)
def test_forward_backward(name, level, batch, kwargs_for):
    torch.manual_seed(0)
    model = create_model(name, in_channels=2, level=level, out_channels=3, **kwargs_for(name))
    out = model(batch)
    y = out["out"]
    n_rows = {"event": batch.batch_size, "hit": batch.num_hits}.get(level)
    if level == "edge":
        ei = out["edge_index"]
        assert ei.shape[0] == 2 and ei.shape[1] > 0
        n_rows = ei.shape[1]
        ev = batch.batch
        assert torch.equal(ev[ei[0]], ev[ei[1]])
    assert y.shape == (n_rows, 3)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    assert repr(model)  # extra_repr everywhere


@pytest.mark.parametrize("name, level", CASES)
def test_batch_equals_events_alone(name, level, batch, kwargs_for):
    torch.manual_seed(0)
    model = create_model(name, in_channels=2, level=level, out_channels=3, **kwargs_for(name)).eval()
    ev = _split(batch)
    with torch.no_grad():
        whole = model(batch)["out"]
        parts = [model(e)["out"] for e in ev]
    if level in ("event", "hit"):  # rows of events / hits are concatenated in order
        torch.testing.assert_close(whole, torch.cat(parts), atol=1e-4, rtol=1e-4)
    else:  # edge: compare as dictionaries keyed by (global) edge
        with torch.no_grad():
            out = model(batch)
        got = dict(zip(map(tuple, out["edge_index"].t().tolist()), out["out"][:, 0].tolist()))
        ref = {}
        for e, b0 in zip(ev, batch.ptr[:-1].tolist()):
            with torch.no_grad():
                o = model(e)
            ref.update(zip(map(tuple, (o["edge_index"] + b0).t().tolist()), o["out"][:, 0].tolist()))
        assert got.keys() == ref.keys()
        assert max(abs(got[k] - ref[k]) for k in got) < 1e-4


def _split(batch):
    from dataclasses import replace

    out = []
    for b in range(batch.batch_size):
        s, e = int(batch.ptr[b]), int(batch.ptr[b + 1])
        out.append(replace(
            batch, pos=batch.pos[s:e], feats=batch.feats[s:e], ptr=torch.tensor([0, e - s]),
            batch_size=1, event_id=batch.event_id[b : b + 1],
            hit={k: v[s:e] for k, v in batch.hit.items()},
            event={k: v[b : b + 1] for k, v in batch.event.items()},
            particle={}, particle_ptr=None, edge_index=None, _batch=None,
        ))
    return out
