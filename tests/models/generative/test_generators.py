from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.models import create_model

NAMES = ["flow-matching", "cond-gan"]
SMALL = {"flow-matching": {"hidden_channels": 16, "num_blocks": 2, "steps": 4},
         "cond-gan": {"hidden_channels": 16, "num_blocks": 2}}


def _model(name, events):
    torch.manual_seed(0)
    m = create_model(name, in_channels=1, level="generate", out_channels=1, **SMALL[name])
    m.prepare(events)
    return m


@pytest.mark.parametrize("name", NAMES)
def test_loss_per_event_and_gradients(name, tpc_events, tpc_batch):
    m = _model(name, tpc_events).train()
    out = m(tpc_batch)
    assert out["loss_event"].shape == (8,) and torch.isfinite(out["loss_event"]).all()
    out["loss_event"].mean().backward()
    grads = [p.grad for p in m.parameters() if p.requires_grad]
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


@pytest.mark.parametrize("name", NAMES)
def test_eval_samples_are_per_event_and_reproducible(name, tpc_events, tpc_batch):
    from hepgraph.events import collate_events

    m = _model(name, tpc_events).eval()
    with torch.no_grad():
        a = m(tpc_batch)
        alone = m(collate_events(tpc_events[2:3], features=["charge"]))
    assert {"gen:x", "gen:charge", "sim:x", "gen_event", "raw"} <= set(a)
    sel = a["gen_event"] == 2
    torch.testing.assert_close(a["gen:x"][sel], alone["gen:x"])       # seeded by event_id
    assert (a["gen:charge"] > 0).all()                                   # generated as a logarithm
    # z of a pad column is copied, not generated
    centres = np.unique(np.concatenate([e["z"] for e in tpc_events]).astype(np.float64))
    assert np.abs(a["gen:z"].numpy()[:, None] - centres[None, :]).min(1).max() < 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_carries_the_codec(name, tpc_events):
    m = _model(name, tpc_events).eval()
    fresh = create_model(name, in_channels=1, level="generate", out_channels=1, **SMALL[name])
    fresh.load_state_dict(m.state_dict())
    raw = m.codec.pool[:5]
    for x, y in zip(m.generate(raw, np.arange(5)), fresh.generate(raw, np.arange(5))):
        np.testing.assert_array_equal(x, y)


def test_generators_refuse_other_tasks():
    from hepgraph.errors import ConfigError

    with pytest.raises(ConfigError, match="generate"):
        create_model("flow-matching", in_channels=1, level="event", out_channels=2)


@pytest.mark.slow
def test_flow_matching_learns_a_conditional_gaussian():
    """Known inputs: the value of every slot is N(2 c, 0.5^2) for a condition c; after a
    short training the generated mean and spread match."""
    from hepgraph.models.generative.flow import FlowMatchingGenerator

    torch.manual_seed(0)
    m = FlowMatchingGenerator(1, 1, hidden_channels=32, num_blocks=2, steps=20, values=["x"])
    m.codec.length, m.codec.mean, m.codec.std = 4, np.zeros((4, 1)), np.ones((4, 1))
    m.codec.fixed, m.codec.log = np.zeros((4, 1), bool), np.zeros(1, bool)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(400):
        c = torch.randn(128, 1)
        cond = torch.cat([c, torch.zeros(128, 8)], 1)
        seq = (2 * c + 0.5 * torch.randn(128, 4)).unsqueeze(1)
        loss = m.loss(cond, seq, torch.ones(128, 4, dtype=torch.bool)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    cond = torch.cat([torch.full((2000, 1), 1.0), torch.zeros(2000, 8)], 1)
    with torch.no_grad():
        seq, present = m.sample(cond, [torch.Generator().manual_seed(i) for i in range(2000)])
    x = seq[:, 0].numpy()
    assert present.float().mean() > 0.99
    assert abs(x.mean() - 2.0) < 0.15 and abs(x.std() - 0.5) < 0.15
