from __future__ import annotations

import numpy as np

from hepgraph.cluster.multiplicity import by_multiplicity, event_multiplicity


def test_metrics_per_multiplicity_by_hand():
    # event 0: one track, found; event 1: two tracks, one found, one split in two halves
    ev = np.array([0] * 4 + [1] * 8)
    truth = np.array([5, 5, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    mult = np.array([1] * 4 + [2] * 8)
    m = by_multiplicity(ev, truth, pred, mult, min_hits=2)
    assert m["k=1/efficiency"] == 1.0 and m["k=1/fake_rate"] == 0.0 and m["k=1/events"] == 1
    # particle 2 (4 hits) is split 2 + 2: no track holds > half of it -> 1 of 2 found, 2 of 3 tracks fake
    assert m["k=2/efficiency"] == 0.5 and m["k=2/fake_rate"] == 2 / 3


def test_event_multiplicity_prefers_n_tracks():
    assert event_multiplicity({"n_tracks": np.int32(3), "track_id": np.zeros(2)}) == 3
    assert event_multiplicity({"track_id": np.array([1, 1, 1, 2, 2, -1, 4, 4, 4])}) == 2
