"""Track-finding metrics on flat hit arrays, vectorised over events.

Every function takes per-hit arrays of one or many events (``event_id`` tells them
apart) and works with group-bys (``np.unique`` / ``np.bincount``), never per-hit Python
loops. Conventions (the hepgraph schema):

- truth ``track_id`` is the particle that made the hit; ``-1`` is noise. Raw TrackML
  data use particle ``0`` for noise: pass ``noise=(0,)`` (or map it to -1 first).
- predicted ``track_id`` ``-1`` means "unassigned". For the TrackML score each
  unassigned hit counts as its own one-hit track, exactly as a submission that gave it a
  unique id would be scored.

The TrackML score follows ``trackml.score.score_event`` of the trackml-library: for each
reconstructed track the majority particle is the one with most hits in it (ties go to the
lowest particle id; noise sorts first, as particle 0 does in TrackML data); a track counts
when more than half of its hits come from that particle *and* more than half of that
particle's hits are in the track; the score is the summed truth weight of the majority
particle's hits in the good tracks divided by the event's total weight, and the dataset
score is the mean of the event scores. Noise hits are a "particle" for majority voting and
carry weight 0 when weights are not given (uniform weights on the other hits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepgraph.errors import DataError

__all__ = [
    "TrackMatch",
    "match_tracks",
    "trackml_score",
    "tracking_metrics",
    "adjusted_rand",
]


@dataclass
class TrackMatch:
    """Track <-> particle majority matching of one or many events.

    Attributes:
        track_event: (T,) event id of each reconstructed track.
        track_nhits: (T,) hits in each track.
        track_label: (T,) predicted label (-1 for singleton tracks made of unassigned hits).
        maj_particle: (T,) index into the particle arrays of the track's majority particle.
        maj_nhits: (T,) hits of the majority particle in the track.
        maj_weight: (T,) summed weight of those hits.
        particle_event: (P,) event id of each truth particle (noise included).
        particle_id: (P,) truth particle id (noise mapped to -1).
        particle_nhits: (P,) hits of each particle.
        particle_max_shared: (P,) most hits of the particle found in one track.
        event_ids: (B,) sorted distinct event ids; ``event_weight`` (B,) total weight each.
    """

    track_event: np.ndarray
    track_nhits: np.ndarray
    track_label: np.ndarray
    maj_particle: np.ndarray
    maj_nhits: np.ndarray
    maj_weight: np.ndarray
    particle_event: np.ndarray
    particle_id: np.ndarray
    particle_nhits: np.ndarray
    particle_max_shared: np.ndarray
    event_ids: np.ndarray
    event_weight: np.ndarray

    @property
    def is_noise_particle(self) -> np.ndarray:
        """(P,) True for the noise pseudo-particle of each event."""
        return self.particle_id == -1

    @property
    def double_majority(self) -> np.ndarray:
        """(T,) the TrackML condition: > 50% of track hits and > 50% of particle hits."""
        pn = self.particle_nhits[self.maj_particle]
        return (2 * self.maj_nhits > self.track_nhits) & (2 * self.maj_nhits > pn)


def _as1d(name: str, a: object, n: int | None, dtype: type | None = None) -> np.ndarray:
    arr = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    if arr.ndim != 1:
        raise DataError(f"`{name}` must be a 1-D per-hit array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise DataError(f"`{name}` has {arr.shape[0]} entries but there are {n} hits")
    return arr


def _group(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index of the first member and inverse index of each distinct key tuple."""
    if keys[0].size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    stacked = np.stack([k.astype(np.int64) for k in keys], axis=1)
    _, first, inv = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def match_tracks(
    event_id: np.ndarray,
    truth: np.ndarray,
    pred: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    noise: Sequence[int] = (-1,),
) -> TrackMatch:
    """Majority-match reconstructed tracks to truth particles.

    Args:
        event_id: (N,) event of each hit.
        truth: (N,) truth particle id per hit; ids in ``noise`` are noise.
        pred: (N,) predicted track label per hit; -1 = unassigned (a one-hit track each).
        weight: (N,) truth weight per hit; default 1 for every hit and 0 for noise.
        noise: truth ids that mean noise (hepgraph -1; raw TrackML 0).

    Returns:
        The :class:`TrackMatch` of all events.
    """
    truth = _as1d("truth", truth, None, np.int64)
    n = truth.shape[0]
    event_id = _as1d("event_id", event_id, n, np.int64)
    pred = _as1d("pred", pred, n, np.int64)
    is_noise = np.isin(truth, np.asarray(list(noise), dtype=np.int64))
    truth = np.where(is_noise, -1, truth)
    if truth[~is_noise].size and truth[~is_noise].min() < 0:
        raise DataError("truth particle ids must be >= 0 except the noise ids "
                        f"`{list(noise)}`; pass noise=(...) with the ids your data use for noise")
    if weight is None:
        w = np.where(is_noise, 0.0, 1.0)
    else:
        w = _as1d("weight", weight, n, np.float64)
    # Unassigned hits become singleton tracks: label -1 keeps its value, the hit index breaks ties.
    single = np.where(pred < 0, np.arange(n), -1)
    tfirst, tidx = _group(event_id, pred, single)
    pfirst, pidx = _group(event_id, truth)
    T, P = tfirst.size, pfirst.size
    track_nhits = np.bincount(tidx, minlength=T)
    particle_nhits = np.bincount(pidx, minlength=P)
    pair_key = tidx * max(P, 1) + pidx
    upair, pinv, pcount = np.unique(pair_key, return_inverse=True, return_counts=True)
    pair_w = np.bincount(pinv.reshape(-1), weights=w, minlength=upair.size)
    pt, pp = upair // max(P, 1), upair % max(P, 1)
    # per track: max count, ties to the smallest particle (pidx order = (event, id) order)
    order = np.lexsort((pp, -pcount, pt))
    first = order[np.r_[True, pt[order][1:] != pt[order][:-1]]] if order.size else order
    maj_particle = np.zeros(T, np.int64)
    maj_nhits = np.zeros(T, np.int64)
    maj_weight = np.zeros(T, np.float64)
    maj_particle[pt[first]] = pp[first]
    maj_nhits[pt[first]] = pcount[first]
    maj_weight[pt[first]] = pair_w[first]
    max_shared = np.zeros(P, np.int64)
    np.maximum.at(max_shared, pp, pcount)
    ev, evinv = np.unique(event_id, return_inverse=True)
    ev_w = np.bincount(evinv.reshape(-1), weights=w, minlength=ev.size)
    return TrackMatch(
        track_event=event_id[tfirst], track_nhits=track_nhits, track_label=pred[tfirst],
        maj_particle=maj_particle, maj_nhits=maj_nhits, maj_weight=maj_weight,
        particle_event=event_id[pfirst], particle_id=truth[pfirst],
        particle_nhits=particle_nhits, particle_max_shared=max_shared,
        event_ids=ev, event_weight=ev_w,
    )


def trackml_score(
    event_id: np.ndarray,
    truth: np.ndarray,
    pred: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    noise: Sequence[int] = (-1,),
    per_event: bool = False,
) -> float | tuple[float, np.ndarray, np.ndarray]:
    """The TrackML challenge score (see the module docstring for the exact definition).

    Args:
        event_id, truth, pred, weight, noise: as in :func:`match_tracks`.
        per_event: also return the event ids and the score of each event.

    Returns:
        The mean event score in [0, 1]; with ``per_event``, ``(mean, event_ids, scores)``.
        Events whose total weight is 0 (only noise) score 0.

    Example:
        >>> trackml_score([0, 0, 0, 0], [1, 1, 2, 2], [5, 5, 7, 7])
        1.0
    """
    m = match_tracks(event_id, truth, pred, weight, noise=noise)
    good = m.double_majority
    ev_pos = np.searchsorted(m.event_ids, m.track_event)
    num = np.bincount(ev_pos[good], weights=m.maj_weight[good], minlength=m.event_ids.size).astype(float)
    scores = np.divide(num, m.event_weight, out=np.zeros(num.size), where=m.event_weight > 0)
    mean = float(scores.mean()) if scores.size else 0.0
    return (mean, m.event_ids, scores) if per_event else mean


def tracking_metrics(
    event_id: np.ndarray,
    truth: np.ndarray,
    pred: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    noise: Sequence[int] = (-1,),
    min_hits: int = 3,
    min_track_hits: int = 3,
) -> dict[str, float]:
    """Efficiency, fake and duplicate rates, purity, completeness, TrackML score, ARI.

    Definitions (all counted over every event together):

    - reconstructable particle: not noise, at least ``min_hits`` hits;
    - candidate track: a predicted label (not -1) with at least ``min_track_hits`` hits;
    - a candidate *matches* a particle by double majority (> 50% of the track's hits are
      from the particle and > 50% of the particle's hits are in the track);
    - ``efficiency``: reconstructable particles matched by a candidate / reconstructable;
    - ``fake_rate``: candidates matching no particle (noise-majority ones included) / candidates;
    - ``duplicate_rate``: among candidates whose majority particle (> 50% of the track's
      hits, not noise) is shared with another candidate, all but one per particle, divided
      by the candidates with such a majority particle;
    - ``purity``: mean over candidates of majority hits / track hits;
    - ``completeness``: mean over reconstructable particles of the largest fraction of
      their hits found in one candidate.

    Returns:
        A dict of floats (rates in [0, 1]) plus counts ``n_particles``, ``n_tracks``.
    """
    m = match_tracks(event_id, truth, pred, weight, noise=noise)
    cand = (m.track_label >= 0) & (m.track_nhits >= min_track_hits)
    dm = m.double_majority & cand & ~m.is_noise_particle[m.maj_particle]
    recable = ~m.is_noise_particle & (m.particle_nhits >= min_hits)
    matched = np.zeros(m.particle_id.size, bool)
    matched[m.maj_particle[dm]] = True
    n_rec, n_cand = int(recable.sum()), int(cand.sum())
    purity_ok = cand & (2 * m.maj_nhits > m.track_nhits) & ~m.is_noise_particle[m.maj_particle]
    n_pure = int(purity_ok.sum())
    n_distinct = np.unique(m.maj_particle[purity_ok]).size
    # completeness counts a particle's hits in any candidate, not only where it is the majority
    shared = _max_shared_in_candidates(event_id, truth, pred, noise, min_track_hits, m)
    score = trackml_score(event_id, truth, pred, weight, noise=noise)
    return {
        "trackml_score": float(score),
        "efficiency": float(matched[recable].sum() / n_rec) if n_rec else float("nan"),
        "fake_rate": float((cand & ~dm).sum() / n_cand) if n_cand else float("nan"),
        "duplicate_rate": float((n_pure - n_distinct) / n_pure) if n_pure else 0.0,
        "purity": float((m.maj_nhits[cand] / m.track_nhits[cand]).mean()) if n_cand else float("nan"),
        "completeness": float((shared[recable] / m.particle_nhits[recable]).mean())
        if n_rec else float("nan"),
        "ari": adjusted_rand(event_id, truth, pred, noise=noise),
        "n_particles": float(n_rec),
        "n_tracks": float(n_cand),
    }


def _max_shared_in_candidates(
    event_id: np.ndarray, truth: np.ndarray, pred: np.ndarray, noise: Sequence[int],
    min_track_hits: int, m: TrackMatch,
) -> np.ndarray:
    """(P,) most hits of each particle inside one candidate track (P ordered as in ``m``)."""
    event_id = np.asarray(event_id, np.int64)
    pred = np.asarray(pred, np.int64)
    t = np.where(np.isin(truth, np.asarray(list(noise), np.int64)), -1, np.asarray(truth, np.int64))
    _, pidx = _group(event_id, t)
    _, tidx = _group(event_id, pred)
    tsize = np.bincount(tidx) if tidx.size else np.zeros(0, np.int64)
    keep = (pred >= 0) & (tsize[tidx] >= min_track_hits) if tidx.size else np.zeros(0, bool)
    out = np.zeros(m.particle_id.size, np.int64)
    if keep.any():
        key, cnt = np.unique(np.stack([pidx[keep], tidx[keep]], 1), axis=0, return_counts=True)
        np.maximum.at(out, key[:, 0], cnt)
    return out


def adjusted_rand(
    event_id: np.ndarray, truth: np.ndarray, pred: np.ndarray, *, noise: Sequence[int] = (-1,)
) -> float:
    """Mean over events of scikit-learn's adjusted Rand index.

    Noise hits (truth) and unassigned hits (pred -1) are each their own singleton cluster,
    so the index compares the two partitions of the hits as they are.
    """
    from sklearn.metrics import adjusted_rand_score

    event_id = np.asarray(event_id, np.int64)
    truth = np.asarray(truth, np.int64)
    pred = np.asarray(pred, np.int64)
    n = truth.size
    if n == 0:
        return float("nan")
    uniq = np.arange(n) + max(int(truth.max()), int(pred.max()), 0) + 1  # singleton labels
    t = np.where(np.isin(truth, np.asarray(list(noise), np.int64)), uniq, truth)
    p = np.where(pred < 0, uniq, pred)
    order = np.argsort(event_id, kind="stable")
    ev = event_id[order]
    cuts = np.flatnonzero(ev[1:] != ev[:-1]) + 1
    scores = [adjusted_rand_score(a, b) for a, b in zip(np.split(t[order], cuts), np.split(p[order], cuts))]
    return float(np.mean(scores))
