from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import DataError
from hepgraph.models.generative.codec import TrackCodec, condition_features, mass_gev


def test_fit_learns_slots_and_fixed_coordinates(tpc_events):
    codec = TrackCodec()
    info = codec.fit(tpc_events)
    assert info["index"] == "pad_col" and codec.length == 40
    assert codec.log.tolist() == [False, False, False, True]            # charge as a logarithm
    # z is the pad column's centre: fixed per slot, never generated
    assert codec.fixed[:, 2].all() and not codec.fixed[:, :2].any()


def test_encode_decode_round_trip_gives_the_hits_back(tpc_events, tpc_batch):
    codec = TrackCodec()
    codec.fit(tpc_events)
    cond, seq, mask, raw = codec.encode(tpc_batch)
    assert cond.shape == (8, 9) and seq.shape == (8, 4, 40) and mask.shape == (8, 40)
    vals, slot, event = codec.decode(seq.numpy(), mask.numpy(), cond.numpy())
    for e in range(8):
        ev = tpc_events[e]
        got = vals[event == e]
        want = np.column_stack([ev[c] for c in ("x", "y", "z", "charge")]).astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(slot[event == e], ev["pad_col"])
        k = 0
        np.testing.assert_allclose(raw[e, :3].numpy(), [ev[f"particle_p{a}"][k] for a in "xyz"], rtol=1e-6)


def test_condition_features_by_hand():
    raw = np.array([[0.0, 3.0, 4.0, -1.0, 13.0, 1.0, 2.0, 3.0]])
    f = condition_features(raw)
    np.testing.assert_allclose(f[0, :5], [np.log(5.0), 0.0, 0.6, 0.8, -1.0])
    assert mass_gev(13) == pytest.approx(0.10566, rel=1e-3) and mass_gev(-11) == pytest.approx(0.000511, rel=1e-2)
    np.testing.assert_allclose(f[0, 6:], [1.0, 2.0, 3.0])


def test_events_without_particles_are_refused():
    with pytest.raises(DataError, match="particle"):
        TrackCodec().fit([{"x": np.zeros(3), "y": np.zeros(3), "z": np.zeros(3), "charge": np.ones(3)}])
