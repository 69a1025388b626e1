"""Tracking metrics per event multiplicity: efficiency and fake rate of events with k tracks.

Track finders degrade with the number of tracks per event (tracks from a common vertex
touch), so a figure of merit such as "99 % efficiency at 1 % fakes on 1-3-track events" is
read per multiplicity. The multiplicity is the event's ``n_tracks`` column when the dataset
has one (the simulators' visible tracks), else the number of reconstructable particles.
"""

from __future__ import annotations

import numpy as np

from hepgraph.metrics.tracking import tracking_metrics

__all__ = ["by_multiplicity"]

#: Metrics reported per multiplicity.
KEYS = ("efficiency", "fake_rate", "n_particles", "n_tracks")


def by_multiplicity(event_id: np.ndarray, truth: np.ndarray, pred: np.ndarray, multiplicity: np.ndarray,
                    *, min_hits: int = 3, max_k: int = 10) -> dict[str, float]:
    """Efficiency, fake rate and counts of the events of each multiplicity k.

    Args:
        event_id: (N,) event of each hit.
        truth: (N,) truth particle per hit (-1 = noise).
        pred: (N,) predicted track per hit (-1 = unassigned).
        multiplicity: (N,) the multiplicity of each hit's event.
        min_hits: reconstructable particles and candidate tracks need this many hits.
        max_k: multiplicities above this are pooled as ``>max_k``.

    Returns:
        ``{"k=1/efficiency": ..., "k=1/fake_rate": ..., "k=1/events": ..., ...}`` for each k
        present (events without tracks are left out).
    """
    out: dict[str, float] = {}
    k = np.minimum(np.asarray(multiplicity, np.int64), max_k + 1)
    ev = np.asarray(event_id)
    for value in np.unique(k):
        if value <= 0:
            continue
        sel = k == value
        name = f"k={value}" if value <= max_k else f"k>{max_k}"
        m = tracking_metrics(ev[sel], np.asarray(truth)[sel], np.asarray(pred)[sel], min_hits=min_hits,
                             min_track_hits=min_hits)
        for key in KEYS:
            out[f"{name}/{key}"] = float(m[key])
        out[f"{name}/events"] = float(np.unique(ev[sel]).size)
    return out


def event_multiplicity(event: dict, min_hits: int = 3) -> int:
    """The event's ``n_tracks`` when present, else its particles with >= ``min_hits`` hits."""
    if "n_tracks" in event:
        return int(np.asarray(event["n_tracks"]))
    t = np.asarray(event.get("track_id", []), np.int64)
    t = t[t >= 0]
    return int((np.bincount(np.unique(t, return_inverse=True)[1]) >= min_hits).sum()) if t.size else 0
