"""Colours that do not mislead: truth particles ranked by hits, predicted clusters matched to them.

A predicted cluster takes the colour of the truth particle it is matched to, so a display
of truth beside prediction shows at a glance which tracks were found, split or merged:

- ``hungarian``: one-to-one assignment maximising shared hits
  (:func:`scipy.optimize.linear_sum_assignment`); the other fragments of a split particle
  stay unmatched;
- ``majority``: each cluster goes to the particle with most of its hits (several clusters
  may share a particle).

Either way a pair counts only when the particle holds more than half of the cluster's
hits; unmatched clusters are grey. Dense events keep a readable legend: the ``top``
particles with most hits get distinct colours, all others one grey.

>>> colors = truth_colors(track_id, particle_pdg=pdg_of, top=20)        # doctest: +SKIP
>>> match = match_clusters(track_id, predicted, method="hungarian")     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError
from hepgraph.report.style import GREY

METHODS = ("hungarian", "majority")
NOISE = (0.82, 0.82, 0.82, 0.45)  # hits of no particle (track_id -1) / unassigned hits


def species(pdg: int | None) -> str:
    """Particle name of a PDG id (``mu-``, ``pi+``, ``p``), ``""`` when unknown or None."""
    if pdg is None:
        return ""
    try:
        from particle import Particle

        return str(Particle.from_pdgid(int(pdg)).name)
    except Exception:  # noqa: BLE001 - nuclei and generator codes the table lacks
        return f"pdg {int(pdg)}"


def palette(n: int) -> np.ndarray:
    """(n, 4) RGBA: tab10, then Dark2 and Set1 (27 distinct colours, then repeated)."""
    import matplotlib

    base = np.concatenate([matplotlib.colormaps["tab10"](np.arange(10)),
                           matplotlib.colormaps["Dark2"](np.arange(8)),
                           matplotlib.colormaps["Set1"](np.arange(9))])
    return base[np.arange(max(n, 1)) % len(base)]


@dataclass
class Legend:
    """Per-hit colours and legend entries ``(label, colour)`` of one panel."""

    colors: np.ndarray
    entries: list[tuple[str, Any]] = field(default_factory=list)


def truth_colors(track_id: np.ndarray, particle_pdg: Mapping[int, int] | None = None,
                 top: int = 20) -> tuple[Legend, dict[int, Any]]:
    """Colour hits by truth particle: the ``top`` particles by hit count distinct, others grey.

    Args:
        track_id: (N,) truth particle per hit (-1 = noise).
        particle_pdg: ``particle_id -> pdg`` for the species in the legend.
        top: particles with their own colour and legend entry.

    Returns:
        The legend, and ``particle_id -> colour`` for the coloured particles.
    """
    ids = np.asarray(track_id, dtype=np.int64)
    colors = np.tile(np.asarray(NOISE), (ids.size, 1))
    uniq, counts = np.unique(ids[ids >= 0], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    pal = palette(top)
    lut: dict[int, Any] = {}
    entries = []
    pdg = dict(particle_pdg or {})
    for rank, i in enumerate(order):
        pid, n = int(uniq[i]), int(counts[i])
        c = pal[rank] if rank < top else np.asarray(GREY)
        colors[ids == pid] = c
        if rank < top:
            lut[pid] = c
            entries.append((f"{pid} {species(pdg.get(pid))} ({n} hits)".replace("  ", " "), c))
    rest = len(order) - min(len(order), top)
    if rest:
        entries.append((f"{rest} other particles", GREY))
    if (ids < 0).any():
        entries.append(("noise", NOISE))
    return Legend(colors, entries), lut


def match_clusters(track_id: np.ndarray, predicted: np.ndarray, method: str = "hungarian",
                   min_fraction: float = 0.5) -> dict[int, int]:
    """Match predicted clusters to truth particles by shared hits.

    Args:
        track_id: (N,) truth particle per hit (-1 = noise).
        predicted: (N,) predicted cluster per hit (-1 = unassigned).
        method: ``hungarian`` (one-to-one) or ``majority`` (many-to-one).
        min_fraction: a pair counts only when the particle holds more than this fraction
            of the cluster's hits.

    Returns:
        ``cluster -> particle`` for the matched clusters.

    Raises:
        ConfigError: unknown ``method``.
    """
    if method not in METHODS:
        raise ConfigError(f"matching `{method}` is unknown; use one of {', '.join(METHODS)}")
    t = np.asarray(track_id, dtype=np.int64)
    p = np.asarray(predicted, dtype=np.int64)
    clusters, p_idx = np.unique(p[p >= 0], return_inverse=True)
    parts, t_idx = np.unique(t[(p >= 0) & (t >= 0)], return_inverse=True)
    if clusters.size == 0 or parts.size == 0:
        return {}
    size = np.bincount(p_idx, minlength=clusters.size)  # hits per cluster, noise included
    both = (t[p >= 0] >= 0)
    shared = np.zeros((clusters.size, parts.size), dtype=np.int64)  # (clusters, particles)
    np.add.at(shared, (p_idx[both], t_idx), 1)
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(shared, maximize=True)
    else:
        rows = np.arange(clusters.size)
        cols = shared.argmax(axis=1)
    ok = shared[rows, cols] > min_fraction * size[rows]
    return {int(clusters[r]): int(parts[c]) for r, c in zip(rows[ok], cols[ok])}


def predicted_colors(track_id: np.ndarray | None, predicted: np.ndarray, lut: Mapping[int, Any],
                     particle_pdg: Mapping[int, int] | None = None, method: str = "hungarian",
                     top: int = 20) -> Legend:
    """Colour predicted clusters as their matched truth particle; unmatched clusters grey.

    Args:
        track_id: (N,) truth per hit, or None (no truth: clusters ranked by size instead).
        predicted: (N,) predicted cluster per hit (-1 = unassigned).
        lut: ``particle_id -> colour`` from :func:`truth_colors`.
        particle_pdg: ``particle_id -> pdg`` for the matched species.
        method: ``hungarian`` or ``majority`` (see :func:`match_clusters`).
        top: legend entries at most (without truth: clusters with their own colour).
    """
    p = np.asarray(predicted, dtype=np.int64)
    if track_id is None:
        return truth_colors(p, None, top)[0]
    match = match_clusters(track_id, p, method)
    colors = np.tile(np.asarray(NOISE), (p.size, 1))
    pdg = dict(particle_pdg or {})
    uniq, counts = np.unique(p[p >= 0], return_counts=True)
    entries, unmatched = [], 0
    for i in np.argsort(-counts, kind="stable"):
        cid, n = int(uniq[i]), int(counts[i])
        pid = match.get(cid)
        c = lut.get(pid, GREY) if pid is not None else GREY
        colors[p == cid] = c
        if pid is None:
            unmatched += 1
        elif pid in lut and len(entries) < top:
            entries.append((f"-> {pid} {species(pdg.get(pid))} ({n} hits)".replace("  ", " "), c))
    matched_other = len(match) - len(entries)
    if matched_other > 0:
        entries.append((f"{matched_other} matched to other particles", GREY))
    if unmatched:
        entries.append((f"{unmatched} unmatched clusters", GREY))
    if (p < 0).any():
        entries.append(("unassigned", NOISE))
    return Legend(colors, entries)
