"""frame-deepsets: event frames against numpy, invariances, shapes and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.events.hitbatch import HitBatch
from hepgraph.models import create_model
from hepgraph.models.deepsets import event_frames


def batch_of(events: list[np.ndarray]) -> HitBatch:
    pos = torch.tensor(np.concatenate(events), dtype=torch.float32)
    counts = torch.tensor([len(e) for e in events])
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    return HitBatch(pos=pos, feats=torch.ones(len(pos), 1), ptr=ptr, batch_size=len(events),
                    event_id=torch.arange(len(events)))


def arc(n=60, r=3000.0, shift=(0.0, 0.0, 0.0), seed=0):
    """Points on a circle arc in (z, y) with a linear x, plus noise (mm)."""
    rng = np.random.default_rng(seed)
    a = np.linspace(-0.25, 0.25, n)
    pts = np.stack([0.3 * r * a, r * (1 - np.cos(a)), r * np.sin(a)], 1) + rng.normal(0, 0.5, (n, 3))
    return pts + np.asarray(shift)


def test_frames_match_numpy_eigendecomposition():
    ev = [arc(), arc(40, 1500.0, (100, -50, 300), seed=1)]
    c, axes, sigma, cnt = event_frames(torch.tensor(np.concatenate(ev)), torch.tensor([0] * 60 + [1] * 40), 2)
    for i, pts in enumerate(ev):
        assert np.allclose(c[i].numpy(), pts.mean(0))
        lam, vec = np.linalg.eigh(np.cov(pts.T, bias=True))
        assert np.allclose(sigma[i].numpy(), np.maximum(np.sqrt(lam[::-1]), 1.0), rtol=1e-6)  # 1 mm floor
        for k in range(2):  # same axes up to sign; the largest component positive
            assert abs(abs(float(axes[i, :, k] @ torch.tensor(vec[:, 2 - k]))) - 1) < 1e-9
            assert axes[i, axes[i, :, k].abs().argmax(), k] > 0
        assert torch.allclose(axes[i, :, 2], torch.linalg.cross(axes[i, :, 0], axes[i, :, 1]))
    assert cnt.tolist() == [60, 40]


def test_output_is_invariant_to_hit_order_and_finite_for_tiny_events():
    torch.manual_seed(0)
    m = create_model("frame-deepsets", in_channels=1, level="event", out_channels=4,
                     extent=[[-1000, 1000]] * 3).eval()
    pts = arc()
    b1 = batch_of([pts, pts[:1], pts[:2]])
    b2 = batch_of([pts[np.random.default_rng(1).permutation(len(pts))], pts[:1], pts[:2]])
    o1, o2 = m(b1)["out"], m(b2)["out"]
    assert o1.shape == (3, 4) and torch.isfinite(o1).all()
    assert torch.allclose(o1, o2, atol=1e-5)


def test_local_coordinates_follow_the_event_frame():
    # A shifted copy of an event has the same spreads and axes, only another centroid.
    pts = arc()
    c, axes, sigma, _ = event_frames(torch.tensor(np.concatenate([pts, pts + [50.0, 20.0, -30.0]])),
                                     torch.tensor([0] * 60 + [1] * 60), 2)
    assert torch.allclose(sigma[0], sigma[1]) and torch.allclose(axes[0], axes[1], atol=1e-9)
    assert torch.allclose(c[1] - c[0], torch.tensor([50.0, 20.0, -30.0], dtype=c.dtype))


def test_gradients_reach_every_parameter():
    m = create_model("frame-deepsets", in_channels=1, level="event", out_channels=2, hidden_channels=16)
    m(batch_of([arc(), arc(30, seed=2)]))["out"].sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_a_detector_in_metres_gives_the_output_of_the_same_detector_in_mm():
    """The spread floor follows the extent (about 1/1000 of its half-size): hits and extent 1000 times
    smaller give the same output (a fixed 1 mm floor flattened every spread of a detector in
    metres to 1 and its log-spread features to 0)."""
    pts = [arc(60, 300.0), arc(40, 150.0, (10, -5, 30), seed=1), arc(60, 300.0)[:1]]
    out = []
    for unit in (1.0, 1e-3):
        torch.manual_seed(0)
        m = create_model("frame-deepsets", in_channels=1, level="event", out_channels=2,
                         extent=[[-500 * unit, 500 * unit]] * 3).eval()
        assert m.min_sigma == pytest.approx(unit)  # the power of ten nearest 1/1000 of 500 mm
        out.append(m(batch_of([p * unit for p in pts]))["out"])
    assert torch.isfinite(out[0]).all()
    torch.testing.assert_close(out[0], out[1], rtol=1e-4, atol=1e-5)
    assert create_model("frame-deepsets", in_channels=1, level="event", out_channels=2).min_sigma == 1.0
