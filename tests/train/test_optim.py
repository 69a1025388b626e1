"""Schedules resumed into a longer run follow the longer schedule (cosine never stuck at 0)."""

from __future__ import annotations

import math

import pytest
import torch

from hepgraph.train.optim import cosine, onecycle


def _opt(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _steps(schedule, opt, n):
    lrs = []
    for _ in range(n):
        opt.step()
        schedule.scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def test_cosine_resumed_to_more_epochs_continues_on_the_longer_curve():
    opt = _opt()
    short = cosine(opt, epochs=2, steps_per_epoch=5)
    _steps(short, opt, 10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # the 2-epoch run ends at 0
    state_opt, state_sched = opt.state_dict(), short.state_dict()
    opt2 = _opt()
    longer = cosine(opt2, epochs=4, steps_per_epoch=5)  # --resume --epochs 4
    opt2.load_state_dict(state_opt)
    longer.load_state_dict(state_sched)
    # lr at step 10 of a 20-step cosine: half the initial lr, then the rest of the curve
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.05)
    lrs = _steps(longer, opt2, 10)
    expect = [0.05 * (1 + math.cos(math.pi * s / 20)) for s in range(11, 21)]
    assert lrs == pytest.approx(expect, abs=1e-9)
    assert min(lrs[:-1]) > 0


def test_same_length_resume_is_unchanged():
    opt = _opt()
    s = cosine(opt, epochs=4, steps_per_epoch=5)
    _steps(s, opt, 7)
    st_o, st_s = opt.state_dict(), s.state_dict()
    ref = _steps(s, opt, 5)
    opt2 = _opt()
    s2 = cosine(opt2, epochs=4, steps_per_epoch=5)
    opt2.load_state_dict(st_o)
    s2.load_state_dict(st_s)
    assert _steps(s2, opt2, 5) == pytest.approx(ref)


def test_onecycle_resumed_longer_does_not_overrun():
    opt = _opt()
    s = onecycle(opt, epochs=2, steps_per_epoch=5)
    _steps(s, opt, 9)
    st_o, st_s = opt.state_dict(), s.state_dict()
    opt2 = _opt()
    s2 = onecycle(opt2, epochs=4, steps_per_epoch=5)
    opt2.load_state_dict(st_o)
    s2.load_state_dict(st_s)
    lrs = _steps(s2, opt2, 11)  # the old schedule would raise after its 10 steps
    fresh_opt = _opt()
    fresh = onecycle(fresh_opt, epochs=4, steps_per_epoch=5)
    ref = _steps(fresh, fresh_opt, 20)
    assert lrs == pytest.approx(ref[9:])
