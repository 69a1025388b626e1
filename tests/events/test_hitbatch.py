from __future__ import annotations

import numpy as np
import torch

from hepgraph.events import collate_events


def test_trailing_empty_event(tiny_hits):
    b = collate_events(tiny_hits)
    assert b.batch_size == 3
    assert b.ptr.tolist() == [0, 32, 61, 61]
    assert b.counts.tolist() == [32, 29, 0]
    assert b.batch.tolist() == [0] * 32 + [1] * 29
    np.testing.assert_array_equal(b.pos[32:, 1].numpy(), tiny_hits[1]["y"])
    np.testing.assert_array_equal(b.feats[:32, 0].numpy(), tiny_hits[0]["charge"])
    assert b.particle_ptr.tolist() == [0, 2, 4, 4]
    assert b.event_id.tolist() == [0, 1, 2]


def test_all_empty_and_leading_empty(tiny_hits):
    b = collate_events([tiny_hits[2], tiny_hits[2]])
    assert b.num_hits == 0 and b.ptr.tolist() == [0, 0, 0] and b.batch.numel() == 0
    b = collate_events([tiny_hits[2], tiny_hits[0]])
    assert b.ptr.tolist() == [0, 0, 32] and b.batch.unique().tolist() == [1]


def test_batch_equals_separate(tiny_hits):
    both = collate_events(tiny_hits[:2])
    one = collate_events(tiny_hits[1:2])
    assert torch.equal(both.pos[32:], one.pos)
    assert torch.equal(both.hit["track_id"][32:], one.hit["track_id"])


def test_batch_from_ptr_matches_repeat_interleave_with_empty_events():
    from hepgraph.events.hitbatch import batch_from_ptr

    ptr = torch.tensor([0, 0, 3, 3, 7, 7])  # leading, middle and trailing empty events
    expect = torch.repeat_interleave(torch.arange(5), ptr[1:] - ptr[:-1])
    assert torch.equal(batch_from_ptr(ptr, 7), expect)
    assert batch_from_ptr(torch.tensor([0]), 0).numel() == 0
