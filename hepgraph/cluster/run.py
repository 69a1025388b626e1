"""Cluster every event of a dataset, score against truth, write TrackML-style assignments.

``cluster_dataset`` is what ``hepgraph cluster`` calls: it runs one clusterer over the
events, collects ``event_id, hit_id, track_id`` rows (the TrackML submission layout; the
track ids are unique within an event, -1 = unassigned), and, when the dataset has truth
``track_id``, computes the tracking metrics (:mod:`hepgraph.metrics.tracking`) with the
TrackML ``hit_weight`` when present, plus the p_T resolution of the helix fit of matched
tracks when the dataset records a field (``extra.field_T``) and particle momenta.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.cluster.multiplicity import by_multiplicity, event_multiplicity
from hepgraph.errors import DataError

log = logging.getLogger(__name__)

__all__ = ["ClusterResult", "cluster_dataset", "write_assignments", "PT_BINS"]

#: p_T bins (GeV) of the fitted-track resolution.
PT_BINS = (0.1, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)


@dataclass
class ClusterResult:
    """Assignments of all hits and the metrics (empty when the dataset has no truth).

    Attributes:
        event_id, hit_id, track_id: (N,) int64 per hit over all events.
        truth: (N,) truth particle per hit, or None.
        metrics: name -> value (``seconds_per_event`` always present).
        resolution: p_T resolution table (see :func:`hepgraph.metrics.edges.resolution_vs`) or None.
    """

    event_id: np.ndarray
    hit_id: np.ndarray
    track_id: np.ndarray
    truth: np.ndarray | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    resolution: dict[str, list[float]] | None = None


def _check_positions(dataset: Any) -> None:
    cols = getattr(dataset, "manifest", {}).get("columns", {})
    missing = [c for c in ("x", "y", "z") if cols and c not in cols]
    if missing:
        raise DataError(
            f"dataset has no hit positions (missing `{', '.join(missing)}`); track finding needs "
            "x, y, z in mm: rebuild the dataset with a mapping for them"
        )


def cluster_dataset(
    dataset: Sequence[dict[str, Any]],
    clusterer: Clusterer,
    *,
    max_events: int | None = None,
    field_T: float | None = None,
    min_hits: int = 3,
    progress: Callable[[int], None] | None = None,
) -> ClusterResult:
    """Run ``clusterer`` on every event and score it when truth is present.

    Args:
        dataset: an ``EventDataset`` (or any sequence of event dicts).
        clusterer: a built clusterer (``CLUSTERERS.build(...)``).
        max_events: cluster at most this many events.
        field_T: field for the track fit (default: the manifest's ``extra.field_T``).
        min_hits: reconstructable particles and candidate tracks need this many hits.
        progress: called with 1 after each event.

    Returns:
        The :class:`ClusterResult`.
    """
    _check_positions(dataset)
    n_ev = len(dataset) if max_events is None else min(len(dataset), max_events)
    extra = getattr(dataset, "manifest", {}).get("extra", {}) or {}
    if field_T is None:
        field_T = extra.get("field_T")
    ev_ids, hit_ids, labels, truths, weights, fits, mults = [], [], [], [], [], [], []
    elapsed = 0.0
    for i in range(n_ev):
        ev = dataset[i]
        n = len(np.asarray(ev.get("x", [])))
        t0 = time.perf_counter()
        lab = clusterer.cluster(ev)
        elapsed += time.perf_counter() - t0
        eid = int(np.asarray(ev.get("event_id", i)))
        ev_ids.append(np.full(n, eid, np.int64))
        hit_ids.append(np.asarray(ev["hit_id"], np.int64) if "hit_id" in ev else np.arange(n, dtype=np.int64))
        labels.append(lab)
        if "track_id" in ev:
            truths.append(np.asarray(ev["track_id"], np.int64))
            mults.append(np.full(n, event_multiplicity(ev, min_hits), np.int64))
            weights.append(np.asarray(ev["hit_weight"], np.float64) if "hit_weight" in ev else None)
            if field_T and "particle_px" in ev and n:
                fits.append(_fit_event(ev, lab, float(field_T), eid))
        if progress is not None:
            progress(1)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    res = ClusterResult(event_id=cat(ev_ids), hit_id=cat(hit_ids), track_id=cat(labels))
    res.metrics["events"] = float(n_ev)
    res.metrics["seconds_per_event"] = elapsed / max(n_ev, 1)
    if truths and len(truths) == n_ev:
        from hepgraph.metrics.tracking import tracking_metrics

        res.truth = cat(truths)
        w = np.concatenate(weights) if all(x is not None for x in weights) and weights else None
        res.metrics.update(tracking_metrics(res.event_id, res.truth, res.track_id, w,
                                            min_hits=min_hits, min_track_hits=min_hits))
        res.metrics.update(by_multiplicity(res.event_id, res.truth, res.track_id, cat(mults), min_hits=min_hits))
        if fits:
            res.resolution = _resolution(fits, res)
    return res


def _fit_event(ev: dict[str, Any], lab: np.ndarray, field_T: float, eid: int) -> dict[str, np.ndarray]:
    from hepgraph.cluster.fit import fit_tracks

    pos = np.stack([np.asarray(ev[c], np.float64) for c in ("x", "y", "z")], 1)
    out = fit_tracks(pos, lab, field_T)
    out["event_id"] = np.full(out["track_id"].shape, eid, np.int64)
    pid = np.asarray(ev["particle_id"], np.int64)
    out["particle_id"], out["particle_pt"] = pid, np.hypot(
        np.asarray(ev["particle_px"], np.float64), np.asarray(ev["particle_py"], np.float64))
    out["particle_event"] = np.full(pid.shape, eid, np.int64)
    return out


def _resolution(fits: list[dict[str, np.ndarray]], res: ClusterResult) -> dict[str, list[float]]:
    """p_T resolution of fitted tracks matched (double majority) to a particle."""
    from hepgraph.metrics.edges import resolution_vs
    from hepgraph.metrics.tracking import match_tracks

    m = match_tracks(res.event_id, res.truth, res.track_id)
    good = m.double_majority & (m.track_label >= 0) & ~m.is_noise_particle[m.maj_particle]
    key_t = {(int(e), int(t)): int(m.particle_id[p])
             for e, t, p in zip(m.track_event[good], m.track_label[good], m.maj_particle[good])}
    cat = {k: np.concatenate([f[k] for f in fits]) for k in fits[0]}
    ppt = {(int(e), int(p)): float(v) for e, p, v in zip(cat["particle_event"], cat["particle_id"], cat["particle_pt"])}
    true, fit = [], []
    for e, t, pt in zip(cat["event_id"], cat["track_id"], cat["pt"]):  # one per track
        pid = key_t.get((int(e), int(t)))
        if pid is not None and (int(e), pid) in ppt and np.isfinite(pt):
            true.append(ppt[(int(e), pid)])
            fit.append(pt)
    r = resolution_vs(np.asarray(true), np.asarray(fit), PT_BINS)
    return {k: np.asarray(v, float).tolist() for k, v in r.items()}


def write_assignments(path: str | Path, event_id: np.ndarray, hit_id: np.ndarray, track_id: np.ndarray,
                      *, overwrite: bool = False) -> Path:
    """Write ``event_id, hit_id, track_id`` as CSV, Parquet or a ROOT TTree ``tracks`` (by
    suffix), atomically (:func:`hepgraph.store.tables.write_table`).

    Raises:
        ConfigError: another suffix. OutputExistsError: ``path`` exists and not ``overwrite``.
    """
    from hepgraph.store.tables import write_table

    cols = {"event_id": np.asarray(event_id, np.int64), "hit_id": np.asarray(hit_id, np.int64),
            "track_id": np.asarray(track_id, np.int64)}
    return write_table(path, cols, overwrite=overwrite, tree="tracks")
