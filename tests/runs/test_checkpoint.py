from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from hepgraph.errors import DataError
from hepgraph.runs.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def _state():
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    opt.step()
    sched.step()
    return m, {"model": m.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
               "epoch": 2, "step": 7, "rng": rng_state(), "config": "{}", "features": "[]"}


def test_save_load_weights_only(tmp_path):
    m, state = _state()
    p = save_checkpoint(tmp_path / "c" / "last.pt", state)
    assert not list((tmp_path / "c").glob(".*tmp*"))
    ck = torch.load(p, weights_only=True)  # plain torch, weights_only
    assert ck["epoch"] == 2 and ck["format"] == "hepgraph-checkpoint-1"
    torch.testing.assert_close(ck["model"]["weight"], m.weight)
    assert load_checkpoint(p)["step"] == 7


def test_rng_state_round_trip():
    s = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(s)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_corrupt_and_foreign_checkpoints(tmp_path):
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(DataError, match="corrupt"):
        load_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(DataError, match="not a hepgraph checkpoint"):
        load_checkpoint(other)
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("key, value", [("config", '{"model": {"name": "grav'), ("config", "[]"),
                                        ("features", "not json"), ("features", '{"x": 1}')])
def test_damaged_config_or_features_record(tmp_path, key, value):
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", {**state, key: value})  # an edited or cut record (was a JSONDecodeError)
    with pytest.raises(DataError, match=rf"`{p}` has a damaged `{key}` record.*retrain"):
        load_checkpoint(p)
