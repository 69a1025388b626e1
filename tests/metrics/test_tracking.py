from __future__ import annotations

import math

import numpy as np
import pytest

from hepgraph.errors import DataError
from hepgraph.metrics.tracking import adjusted_rand, match_tracks, trackml_score, tracking_metrics


def _reference_score(truth, pred, weight):
    """The trackml-library ``score_event`` algorithm, written as its per-hit loop."""
    truth = list(truth)
    pred = list(pred)
    nh = {}
    for p in truth:
        nh[p] = nh.get(p, 0) + 1
    total = float(sum(weight))
    tracks = {}
    for p, t, w in zip(truth, pred, weight):
        tracks.setdefault(t, []).append((p, w))
    score = 0.0
    for hits in tracks.values():
        counts, weights = {}, {}
        for p, w in hits:
            counts[p] = counts.get(p, 0) + 1
            weights[p] = weights.get(p, 0.0) + w
        maj = min(counts, key=lambda p: (-counts[p], p))
        if 2 * counts[maj] > len(hits) and 2 * counts[maj] > nh[maj]:
            score += weights[maj]
    return score / total


# event: particle 1 (4 hits), particle 2 (4 hits), 2 noise hits
TRUTH = np.array([1, 1, 1, 1, 2, 2, 2, 2, -1, -1])


def test_perfect():
    pred = np.array([7, 7, 7, 7, 3, 3, 3, 3, -1, -1])
    ev = np.zeros(10, int)
    assert trackml_score(ev, TRUTH, pred) == 1.0
    m = tracking_metrics(ev, TRUTH, pred)
    assert m["efficiency"] == 1.0 and m["fake_rate"] == 0.0 and m["duplicate_rate"] == 0.0
    assert m["purity"] == 1.0 and m["completeness"] == 1.0
    assert m["ari"] == pytest.approx(1.0)
    assert m["n_particles"] == 2 and m["n_tracks"] == 2


def test_all_noise_prediction():
    ev = np.zeros(10, int)
    pred = -np.ones(10, int)
    assert trackml_score(ev, TRUTH, pred) == 0.0
    m = tracking_metrics(ev, TRUTH, pred)
    assert m["efficiency"] == 0.0 and m["n_tracks"] == 0
    assert math.isnan(m["fake_rate"]) and m["completeness"] == 0.0


def test_noise_only_event_scores_zero_not_nan():
    assert trackml_score([3, 3], [-1, -1], [0, 0]) == 0.0


def test_split_tracks():
    # particle 1: 6 hits split 4 + 2; particle 2: 4 hits split 2 + 2
    truth = np.array([1] * 6 + [2] * 4)
    pred = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3])
    ev = np.zeros(10, int)
    assert trackml_score(ev, truth, pred) == pytest.approx(4 / 10)
    m = tracking_metrics(ev, truth, pred, min_track_hits=2)
    assert m["efficiency"] == 0.5
    assert m["fake_rate"] == 0.75  # 4 candidates, one matched
    assert m["duplicate_rate"] == 0.5  # 4 pure candidates of 2 particles
    assert m["purity"] == 1.0
    assert m["completeness"] == pytest.approx((4 / 6 + 2 / 4) / 2)


def test_merged_tracks_and_tie_goes_nowhere():
    # particles 1 and 2 (3 hits each) merged; particle 3 (4 hits) + one noise hit in one track
    truth = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, -1])
    pred = np.array([5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6])
    ev = np.zeros(11, int)
    assert trackml_score(ev, truth, pred) == pytest.approx(4 / 10)
    m = tracking_metrics(ev, truth, pred)
    assert m["efficiency"] == pytest.approx(1 / 3)
    assert m["fake_rate"] == 0.5
    assert m["purity"] == pytest.approx((3 / 6 + 4 / 5) / 2)
    mt = match_tracks(ev, truth, pred)
    assert mt.particle_id[mt.maj_particle[0]] == 1  # tie -> smallest id


def test_weights_and_trackml_noise_id():
    # raw TrackML convention: particle 0 is noise; weights from truth
    truth = np.array([0, 11, 11, 11, 22, 22])
    pred = np.array([1, 1, 1, 1, 2, 3])
    w = np.array([0.0, 0.1, 0.2, 0.3, 0.15, 0.25])
    # track 1: 3/4 from 11 and 3/3 of 11 -> 0.6; tracks 2, 3: 1/2 of 22 -> no
    assert trackml_score(np.zeros(6), truth, pred, w, noise=(0,)) == pytest.approx(0.6 / 1.0)
    assert _reference_score(truth, pred, w) == pytest.approx(0.6)


def test_events_are_separate_and_averaged():
    perfect = np.array([7, 7, 7, 7, 3, 3, 3, 3, -1, -1])
    split_truth = np.array([1] * 6 + [2] * 4)
    split_pred = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3])
    # same labels reused in both events must not mix
    ev = np.r_[np.full(10, 4), np.full(10, 9)]
    truth = np.r_[TRUTH, split_truth]
    pred = np.r_[perfect, split_pred]
    mean, ids, scores = trackml_score(ev, truth, pred, per_event=True)
    assert ids.tolist() == [4, 9] and scores == pytest.approx([1.0, 0.4])
    assert mean == pytest.approx(0.7)


def test_matches_reference_on_random_assignments():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 60
        truth = rng.integers(0, 8, n)  # 0 = noise
        pred = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 12, n))
        w = np.where(truth == 0, 0.0, rng.random(n))
        expect = _reference_score(truth, pred, w)
        assert trackml_score(np.zeros(n), truth, pred, w, noise=(0,)) == pytest.approx(expect)


def test_unassigned_hits_are_singletons():
    # a particle with one hit, left unassigned, is a correct one-hit "track"
    truth = np.array([1, 1, 1, 2])
    pred = np.array([0, 0, 0, -1])
    assert trackml_score(np.zeros(4), truth, pred) == 1.0
    # if -1 were one track, particle 1's hits split 2 (track 0) + 1 would change the answer
    truth = np.array([1, 1, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, -1, -1, -1])
    assert trackml_score(np.zeros(6), truth, pred) == pytest.approx(3 / 6)


def test_ari_per_event_mean():
    ev = np.r_[np.zeros(4), np.ones(4)]
    truth = np.array([1, 1, 2, 2, 1, 1, 2, 2])
    pred = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    from sklearn.metrics import adjusted_rand_score

    expect = (1.0 + adjusted_rand_score([1, 1, 2, 2], [0, 1, 0, 1])) / 2
    assert adjusted_rand(ev, truth, pred) == pytest.approx(expect)


def test_bad_shapes_raise():
    with pytest.raises(DataError, match="pred"):
        trackml_score([0, 0], [1, 1], [1])
    with pytest.raises(DataError, match="noise"):
        trackml_score([0, 0], [-5, 1], [1, 1], noise=(0,))
