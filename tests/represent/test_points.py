from __future__ import annotations

import torch

from hepgraph.represent.points import to_points


def test_points_center_and_scale(tiny_batch):
    p = to_points(tiny_batch, pos_scale=10.0, center=True)
    assert p.batch_size == 3 and torch.equal(p.x, tiny_batch.feats)
    for b in (0, 2):
        m = p.pos[p.batch == b].mean(0)
        assert torch.allclose(m, torch.zeros(3), atol=1e-4)
    torch.testing.assert_close(p.pos[1] - p.pos[0], (tiny_batch.pos[1] - tiny_batch.pos[0]) / 10)
