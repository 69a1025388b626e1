"""Density clustering (scikit-learn DBSCAN and HDBSCAN) in a chosen hit space.

Spaces (``space=``):

- ``xyz``: hit positions in mm; ``eps`` is a distance in mm. Tracks are chains of hits, so
  ``eps`` must exceed the hit spacing along a track (the layer pitch).
- ``direction``: the unit vector to the hit from a point ``(0, 0, z0)`` on the beam axis,
  (x, y, z - z0) / |...|; ``eps`` is an angle in rad. Straight tracks (no field) from that
  vertex are points in this space; ``z0`` may be a list (a scan along the luminous region).
- ``helix``: (cos φ₀, sin φ₀, (z - z0)/s·scale) with φ₀ = φ + asin(κ·r/2) the azimuth at
  the origin of a circle through the origin of curvature ``curvature`` (1/mm) and s the
  transverse arc length to the hit along it (2·asin(κ·r/2)/κ; r when κ = 0); ``curvature``
  and ``z0`` may be lists (helix unrolling).
- ``slope``: (x - t_x·z, y - t_y·z), where the line of slopes ``slope`` = (t_x, t_y) =
  (dx/dz, dy/dz) through the hit crosses the plane z = 0; ``eps`` in mm. Straight tracks of
  those slopes are points wherever they are (a test-beam telescope's parallel beam, tracks
  that do not come from the beam axis); ``slope`` may be a list of (t_x, t_y) pairs to scan.
- ``embedding``: a learned space, passed as ``cluster(event, embedding=(N, D) array)``.

With lists, every combination is clustered; the clusters of the whole scan, largest first,
become tracks, each keeping the hits no larger one took (``select: track``), or each hit
keeps the largest cluster it was in (``select: hit``).

YAML::

    clusterer: {name: dbscan, space: xyz, eps: 25.0, min_samples: 3}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer, compact_labels, label_groups
from hepgraph.cluster.hough import arc_length
from hepgraph.errors import ConfigError, DataError
from hepgraph.registry import CLUSTERERS

SPACES = ("xyz", "direction", "helix", "slope", "embedding")

_BUILTIN: dict[str, Any] = {"space": "xyz", "eps": 20.0, "min_samples": 3, "curvature": 0.0,
                             "z_scale": 1.0, "max_hits": None, "min_hits": 3, "z0": 0.0,
                             "slope": [0.0, 0.0]}

#: Per-detector defaults (``detector=`` picks one; explicit kwargs win). TrackML: helix
#: unrolling over 13 curvatures |κ| <= 1.2e-3 /mm (p_T >= 0.5 GeV at 2 T), tuned on the
#: shared TrackML event (see docs/benchmarks.md, "Track finding").
DETECTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "generic": {},
    "trackml": {"space": "helix", "eps": 0.02, "min_samples": 2, "z_scale": 0.1, "max_hits": 20,
                "curvature": [round(k, 6) for k in np.linspace(-1.2e-3, 1.2e-3, 13).tolist()]},
    "sim-drift-chamber": {"space": "xyz", "eps": 35.0, "min_samples": 2, "min_hits": 6},
    "sim-pad-tpc": {"space": "xyz", "eps": 15.0, "min_samples": 3},
    "sim-geiger-grid": {"space": "xyz", "eps": 25.0, "min_samples": 2},
    "sim-lartpc": {"space": "xyz", "eps": 10.0, "min_samples": 3},
}


def spacing_eps(events: Any, min_samples: int = 3, max_events: int = 50) -> float | None:
    """A DBSCAN ``eps`` (mm, ``xyz`` space) from the hits themselves: twice the 75th percentile
    of each hit's distance to its ``min_samples - 1``-th nearest neighbour, over up to
    ``max_events`` evenly spaced events (the along-track hit spacing sets it: 2.5 m strings of
    optical modules, 25 mm telescope planes, few-mm TPC pads alike). None without such hits.

    Args:
        events: a sequence of events (``len`` and ``[i]``) with ``x, y, z`` hit arrays (mm).
        min_samples: DBSCAN's ``min_samples`` (self included).
    """
    from scipy.spatial import cKDTree

    k = max(int(min_samples), 2)
    n = len(events)
    dist = []
    for i in np.unique(np.linspace(0, n - 1, min(n, max_events)).astype(np.int64)) if n else []:
        ev = events[int(i)]
        pos = np.stack([np.asarray(ev[c], np.float64) for c in "xyz"], 1)
        pos = pos[np.isfinite(pos).all(1)]
        if len(pos) >= k:
            dist.append(cKDTree(pos).query(pos, k=k)[0][:, k - 1])
    d = np.concatenate(dist) if dist else np.zeros(0)
    d = d[d > 0]
    return float(f"{2.0 * np.percentile(d, 75):.3g}") if d.size else None


def hit_space(
    pos: np.ndarray, space: str, *, curvature: float = 0.0, z_scale: float = 1.0,
    embedding: np.ndarray | None = None, z0: float = 0.0, slope: Sequence[float] = (0.0, 0.0),
) -> np.ndarray:
    """(N, D) coordinates of the hits in ``space`` (see the module docstring).

    Raises:
        ConfigError: unknown space. DataError: ``embedding`` space without embeddings.
    """
    if space == "xyz":
        return pos
    if space == "direction":
        d = pos - np.array([0.0, 0.0, z0])
        r = np.linalg.norm(d, axis=1, keepdims=True)
        return d / np.maximum(r, 1e-9)
    if space == "helix":
        r = np.hypot(pos[:, 0], pos[:, 1])
        turn = np.arcsin(np.clip(curvature * r / 2, -1, 1))
        phi0 = np.arctan2(pos[:, 1], pos[:, 0]) + turn
        s = arc_length(r, curvature)                # z - z0 grows linearly with it on a helix
        return np.stack([np.cos(phi0), np.sin(phi0), z_scale * (pos[:, 2] - z0) / np.maximum(s, 1e-9)], 1)
    if space == "slope":
        return np.stack([pos[:, 0] - slope[0] * pos[:, 2], pos[:, 1] - slope[1] * pos[:, 2]], 1)
    if space == "embedding":
        if embedding is None:
            raise DataError("space `embedding` needs cluster(event, embedding=(N, D) array)")
        emb = np.asarray(embedding, np.float64)
        if emb.ndim != 2 or emb.shape[0] != pos.shape[0]:
            raise DataError(f"`embedding` must be (N={pos.shape[0]}, D), got {emb.shape}")
        return emb
    raise ConfigError(f"unknown clustering space `{space}`; valid: {', '.join(SPACES)}")


class _Density(Clusterer):
    def __init__(
        self, *, detector: str = "generic", space: str | None = None, eps: float | None = None,
        min_samples: int | None = None, curvature: float | list[float] | None = None,
        z_scale: float | None = None, min_hits: int | None = None, max_hits: int | None = None,
        z0: float | list[float] | None = None, slope: list[float] | list[list[float]] | None = None,
        select: str = "track",
    ) -> None:
        if select not in ("track", "hit"):
            raise ConfigError(f"`select` must be `track` or `hit`, got `{select}`")
        self.select = select
        if detector not in DETECTOR_DEFAULTS:
            raise ConfigError(
                f"no clustering defaults for detector `{detector}`; valid: "
                f"{', '.join(DETECTOR_DEFAULTS)} (or give space/eps/min_samples yourself)"
            )
        d = {**_BUILTIN, **DETECTOR_DEFAULTS[detector]}
        given = dict(space=space, eps=eps, min_samples=min_samples, curvature=curvature,
                     z_scale=z_scale, max_hits=max_hits, z0=z0, slope=slope)
        v = {k: (val if val is not None else d[k]) for k, val in given.items()}
        super().__init__(int(min_hits if min_hits is not None else d["min_hits"]))
        self.detector = detector
        self.space = v["space"]
        if self.space not in SPACES:
            raise ConfigError(f"unknown clustering space `{self.space}`; valid: {', '.join(SPACES)}")
        self.eps = float(v["eps"])
        self.min_samples = int(v["min_samples"])
        self.curvature = v["curvature"]
        self.z_scale = float(v["z_scale"])
        self.max_hits = None if v["max_hits"] is None else int(v["max_hits"])
        self.z0 = v["z0"]
        slopes = np.asarray(v["slope"], np.float64)
        if slopes.size == 0 or slopes.size % 2 or not np.isfinite(slopes).all():
            raise ConfigError(f"`slope` must be a pair (t_x, t_y) of dx/dz, dy/dz or a list of pairs, got `{v['slope']}`")
        self.slope = slopes.reshape(-1, 2).tolist()
        if self.eps <= 0 or not np.isfinite(self.eps):
            raise ConfigError(f"`eps` must be a positive number, got `{self.eps}`")
        import sklearn.cluster  # noqa: F401  (load now, so per-event timings exclude the import)

    def _labels(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        emb = inputs.get("embedding", event.get("embedding"))
        curv = np.atleast_1d(np.asarray(self.curvature, np.float64))
        z0 = np.atleast_1d(np.asarray(self.z0, np.float64))
        scan = {"helix": [{"curvature": float(c), "z0": float(z)} for c in curv for z in z0],
                "direction": [{"z0": float(z)} for z in z0],
                "slope": [{"slope": tuple(t)} for t in self.slope]}.get(self.space, [{}])
        if len(scan) == 1:
            return self._labels(hit_space(pos, self.space, z_scale=self.z_scale, embedding=emb, **scan[0]))
        if self.select == "hit":
            return self._best_per_hit(pos, emb, scan)
        return self._best_tracks(pos, emb, scan)

    def _scan_labels(self, pos: np.ndarray, emb: Any, kw: dict[str, Any]) -> np.ndarray:
        return compact_labels(self._labels(hit_space(pos, self.space, z_scale=self.z_scale, embedding=emb, **kw)),
                              self.min_hits)

    def _best_per_hit(self, pos: np.ndarray, emb: Any, scan: list[dict[str, Any]]) -> np.ndarray:
        """Each hit keeps the largest cluster it was in over the scan."""
        best = np.full(pos.shape[0], -1, np.int64)
        best_size = np.zeros(pos.shape[0], np.int64)
        offset = 0
        for kw in scan:
            lab = self._scan_labels(pos, emb, kw)
            size = np.bincount(lab[lab >= 0], minlength=1)[np.maximum(lab, 0)] * (lab >= 0)
            if self.max_hits is not None:  # merged blobs at a wrong curvature must not win
                size = np.where(size > self.max_hits, 0, size)
            better = size > best_size
            best[better] = lab[better] + offset
            best_size[better] = size[better]
            offset += int(lab.max()) + 1 if (lab >= 0).any() else 0
        return best

    def _best_tracks(self, pos: np.ndarray, emb: Any, scan: list[dict[str, Any]]) -> np.ndarray:
        """Whole clusters of the scan, largest first, each taking the hits no larger one took
        (kept when at least ``min_hits`` and half of its hits are still free)."""
        cands: list[np.ndarray] = []
        for kw in scan:
            lab = self._scan_labels(pos, emb, kw)
            ok = np.flatnonzero(lab >= 0)
            cands.extend(ok[g] for g in label_groups(lab[ok]) if self.max_hits is None or g.size <= self.max_hits)
        out = np.full(pos.shape[0], -1, np.int64)
        k = 0
        for i in sorted(range(len(cands)), key=lambda j: -cands[j].size):  # stable: scan order on ties
            free = cands[i][out[cands[i]] < 0]
            if free.size >= self.min_hits and 2 * free.size >= cands[i].size:
                out[free] = k
                k += 1
        return out


@CLUSTERERS.register("dbscan", needs_model=False)
class DBSCANClusterer(_Density):
    """DBSCAN (scikit-learn) in a hit space; ``eps`` in the space's unit (mm for ``xyz``).

    Args:
        detector: picks defaults from :data:`DETECTOR_DEFAULTS`.
        space: ``xyz``, ``direction``, ``helix`` or ``embedding``.
        eps: neighbourhood radius (mm for ``xyz``, rad for ``direction``).
        min_samples: neighbours (self included) that make a core hit.
        curvature: κ in 1/mm for the ``helix`` space, or a list to scan.
        z0: vertex z (mm) of the ``direction`` space, or a list to scan.
        slope: (dx/dz, dy/dz) of the ``slope`` space, or a list of pairs to scan.
        z_scale: weight of z/r in the ``helix`` space.
        min_hits: smaller clusters become noise.
        max_hits: in a curvature or z0 scan, clusters larger than this never win a hit.
        select: how a scan's clusters become tracks: ``track`` (whole clusters, largest
            first, each keeping the hits no larger one took) or ``hit`` (each hit keeps the
            largest cluster it was in).
    """

    name = "dbscan"

    def _labels(self, x: np.ndarray) -> np.ndarray:
        from sklearn.cluster import DBSCAN

        return DBSCAN(eps=self.eps, min_samples=self.min_samples).fit_predict(x)


@CLUSTERERS.register("hdbscan", needs_model=False)
class HDBSCANClusterer(_Density):
    """HDBSCAN (scikit-learn) in a hit space (``eps`` is not used).

    Args: as :class:`DBSCANClusterer`, plus ``min_cluster_size`` (default ``min_hits``) and
    ``selection_eps`` (scikit-learn's ``cluster_selection_epsilon``, in the space's unit) and
    ``min_probability`` (hits with membership probability at or below it become noise).
    """

    name = "hdbscan"

    def __init__(
        self, *, min_cluster_size: int | None = None, selection_eps: float = 0.0,
        min_probability: float = 0.0, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_probability = float(min_probability)
        self.min_cluster_size = int(min_cluster_size or max(self.min_hits, 2))
        self.selection_eps = float(selection_eps)

    def _labels(self, x: np.ndarray) -> np.ndarray:
        from sklearn.cluster import HDBSCAN

        if x.shape[0] < 2:
            return np.full(x.shape[0], -1, np.int64)
        h = HDBSCAN(
            min_cluster_size=min(self.min_cluster_size, x.shape[0]),
            min_samples=self.min_samples,
            cluster_selection_epsilon=self.selection_eps,
            copy=True,
        ).fit(x)
        # scikit-learn can leave far outliers in a cluster with membership probability 0
        return np.where(h.probabilities_ > self.min_probability, h.labels_, -1)
