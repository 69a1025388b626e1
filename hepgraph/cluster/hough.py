"""Hough transform for circles through the origin (tracks from the vertex in a solenoid).

In the transverse plane a track from the origin with signed curvature κ = q·0.3·B/p_T
(1/mm; positive bends clockwise seen from +z) and initial azimuth φ₀ passes through a hit
at (r, φ) when

.. math::
    \\phi_0 = \\phi + \\arcsin(\\kappa r / 2).

Each hit votes once per κ bin into a (φ₀, κ) accumulator. Peaks are taken one at a time
(highest first, window of two φ₀ bins): the hits of the peak form a candidate, their votes
are removed, and the search goes on until no peak has ``min_hits`` votes. Candidates are
then split along the polar direction: hits are sorted by cot θ = z / s (s = transverse arc
length from the origin) and cut where consecutive values differ by more than ``cot_tol``.
With a luminous region (``z0_max`` > 0, mm) the split is a second Hough transform, of the
straight line from (s, z) = (0, z0) in the (s, z) plane, in (z0, θ): ``n_z0`` vertex
positions in [-z0_max, z0_max], polar angle θ = atan2(s, z - z0) in bins of ``theta_tol``
rad; peaks are taken one at a time as above.

Without a field (``field_T: 0``) κ = 0: every track from the beam axis keeps its azimuth,
φ₀ = φ, and the transform is the straight-line one, (φ, z0, θ).

YAML::

    clusterer: {name: hough, field_T: 1.0, pt_min: 0.2, n_phi: 512, n_kappa: 64}
    clusterer: {name: hough, field_T: 0.0, n_phi: 512, z0_max: 150.0, n_z0: 64, theta_tol: 0.002}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.constants import C_CURV, M
from hepgraph.errors import ConfigError
from hepgraph.registry import CLUSTERERS

#: p_T [GeV] = C_PT · B [T] · R [mm]
C_PT = C_CURV / M

#: Largest (φ₀, κ) accumulator (cells; 4096 x 1024 is the largest the tuning tries) and most
#: vertex positions of the (z0, θ) transform: past them a setting is a mistake, not a memory error.
MAX_CELLS = 1 << 24
MAX_Z0 = 1 << 16

#: Per-detector defaults (``detector=``; explicit kwargs win). The drift-chamber values
#: were chosen on sim-drift-chamber events (p_T >= 0.1 GeV generated), see docs/benchmarks.md.
HOUGH_DEFAULTS: dict[str, dict[str, Any]] = {
    "generic": {"field_T": 1.0, "pt_min": 0.2, "n_phi": 512, "n_kappa": 64, "cot_tol": 0.1, "min_hits": 3,
                "z0_max": 0.0, "n_z0": 32, "theta_tol": 0.005},
    "sim-drift-chamber": {"field_T": 1.0, "pt_min": 0.09, "n_phi": 360, "n_kappa": 96, "cot_tol": 0.2,
                          "min_hits": 6},
    "trackml": {"field_T": 2.0, "pt_min": 0.5, "n_phi": 1024, "n_kappa": 32, "cot_tol": 0.05, "min_hits": 4},
}


def pt_curvature(field_T: float, pt: float) -> float:
    """Curvature (1/mm) of a track of transverse momentum ``pt`` (GeV) in ``field_T`` (T):
    κ = 0.3·B / (1000·p_T), the largest a search down to p_T = ``pt`` must cover."""
    return C_PT * abs(float(field_T)) / float(pt)


def arc_length(r: np.ndarray, kappa: float | np.ndarray) -> np.ndarray:
    """Transverse arc length (mm) from the origin to radius ``r`` on a circle of curvature κ."""
    k = np.asarray(kappa, np.float64)
    small = np.abs(k * r) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 2.0 * np.arcsin(np.clip(k * r / 2.0, -1, 1)) / np.where(small, 1.0, k)
    return np.where(small, r, s)


@CLUSTERERS.register("hough", needs_model=False)
class HoughClusterer(Clusterer):
    """Circle Hough transform in (φ₀, κ), then a split in cot θ.

    Args:
        detector: picks defaults from :data:`HOUGH_DEFAULTS`.
        field_T: solenoid field in T (0 = straight lines; then ``n_kappa`` is 1).
        pt_min: lowest p_T (GeV) searched; sets κ_max = 0.3·B/pt_min.
        kappa_max: override κ_max in 1/mm (used when ``field_T`` is 0 but tracks curve).
        n_phi: φ₀ bins over 2π.
        n_kappa: κ bins over [-κ_max, κ_max].
        cot_tol: largest cot θ gap inside one track (``inf`` disables the split).
        min_hits: smallest track.
        z0_max: half-length (mm) of the luminous region along z searched for the track's
            origin (0: tracks from the origin, split by the cot θ gaps).
        n_z0: vertex positions of the (z0, θ) transform.
        theta_tol: polar-angle bin (rad) of the (z0, θ) transform.
    """

    name = "hough"

    def __init__(
        self, *, detector: str = "generic", field_T: float | None = None, pt_min: float | None = None,
        kappa_max: float | None = None, n_phi: int | None = None, n_kappa: int | None = None,
        cot_tol: float | None = None, min_hits: int | None = None, z0_max: float | None = None,
        n_z0: int | None = None, theta_tol: float | None = None,
    ) -> None:
        if detector not in HOUGH_DEFAULTS:
            raise ConfigError(f"no hough defaults for detector `{detector}`; valid: {', '.join(HOUGH_DEFAULTS)}")
        d = {**HOUGH_DEFAULTS["generic"], **HOUGH_DEFAULTS[detector]}
        given = dict(field_T=field_T, pt_min=pt_min, n_phi=n_phi, n_kappa=n_kappa, cot_tol=cot_tol,
                     min_hits=min_hits, z0_max=z0_max, n_z0=n_z0, theta_tol=theta_tol)
        v = {k: (val if val is not None else d[k]) for k, val in given.items()}
        super().__init__(int(v["min_hits"]))
        if v["pt_min"] <= 0 or v["n_phi"] < 4 or v["n_kappa"] < 1 or v["z0_max"] < 0 or v["n_z0"] < 1:
            raise ConfigError(
                f"hough needs pt_min > 0, n_phi >= 4, n_kappa >= 1; got pt_min=`{v['pt_min']}`, "
                f"n_phi=`{v['n_phi']}`, n_kappa=`{v['n_kappa']}`"
            )
        self.detector = detector
        self.field_T = float(v["field_T"])
        self.pt_min = float(v["pt_min"])
        kmax = kappa_max if kappa_max is not None else pt_curvature(self.field_T, self.pt_min)
        self.kappa_max = float(kmax)
        self.n_phi = int(v["n_phi"])
        self.n_kappa = int(v["n_kappa"]) if self.kappa_max > 0 else 1
        self.cot_tol = float(v["cot_tol"])
        if not self.cot_tol > 0:
            raise ConfigError(f"hough `cot_tol` must be > 0, got `{self.cot_tol}`")
        self.z0_max, self.n_z0, self.theta_tol = float(v["z0_max"]), int(v["n_z0"]), float(v["theta_tol"])
        if not self.theta_tol > 0:
            raise ConfigError(f"hough `theta_tol` must be > 0 rad, got `{self.theta_tol}`")
        cells = self.n_phi * self.n_kappa
        if cells > MAX_CELLS or self.n_z0 > MAX_Z0:
            raise ConfigError(
                f"hough accumulator of n_phi x n_kappa = `{self.n_phi}` x `{self.n_kappa}` cells and n_z0 = "
                f"`{self.n_z0}` is too large: at most {MAX_CELLS:,} cells and {MAX_Z0:,} z0 positions; "
                "lower n_phi, n_kappa or n_z0"
            )

    def kappas(self) -> np.ndarray:
        """(K,) bin centres of κ in 1/mm."""
        if self.n_kappa == 1:
            return np.zeros(1)
        edges = np.linspace(-self.kappa_max, self.kappa_max, self.n_kappa + 1)
        return 0.5 * (edges[1:] + edges[:-1])

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        n = pos.shape[0]
        r = np.hypot(pos[:, 0], pos[:, 1])
        phi = np.arctan2(pos[:, 1], pos[:, 0])
        kap = self.kappas()
        arg = kap[None, :] * r[:, None] / 2.0  # (N, K)
        valid = np.abs(arg) <= 1.0
        phi0 = phi[:, None] + np.arcsin(np.clip(arg, -1, 1))
        width = 2 * np.pi / self.n_phi
        fbin = np.floor(np.mod(phi0 + np.pi, 2 * np.pi) / width).astype(np.int64) % self.n_phi
        kcol = np.broadcast_to(np.arange(kap.size), fbin.shape)
        acc = np.zeros((self.n_phi, kap.size), np.int64)
        np.add.at(acc, (fbin[valid], kcol[valid]), 1)
        active = np.ones(n, bool)
        labels = np.full(n, -1, np.int64)
        next_label = 0
        while active.any():
            win = acc + np.roll(acc, -1, axis=0)  # votes in bins (i, i+1)
            i, k = np.unravel_index(int(np.argmax(win)), win.shape)
            if win[i, k] < self.min_hits:
                break
            sel = active & valid[:, k] & ((fbin[:, k] == i) | (fbin[:, k] == (i + 1) % self.n_phi))
            idx = np.flatnonzero(sel)
            # remove every vote of these hits, whatever happens to them next
            m = valid[idx]
            np.add.at(acc, (fbin[idx][m], kcol[idx][m]), -1)
            active[idx] = False
            for part in self._split_theta(idx, pos, r, kap[k]):
                if part.size >= self.min_hits:
                    labels[part] = next_label
                    next_label += 1
        return labels

    def _split_theta(self, idx: np.ndarray, pos: np.ndarray, r: np.ndarray, kappa: float) -> list[np.ndarray]:
        if not np.isfinite(self.cot_tol):
            return [idx]
        s = arc_length(r[idx], kappa)
        if self.z0_max > 0:
            return self._split_lines(idx, np.maximum(s, 1e-9), pos[idx, 2])
        cot = pos[idx, 2] / np.maximum(s, 1e-9)
        order = np.argsort(cot, kind="stable")
        cuts = np.flatnonzero(np.diff(cot[order]) > self.cot_tol) + 1
        return np.split(idx[order], cuts)

    def _split_lines(self, idx: np.ndarray, s: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
        """Parts of a candidate by a (z0, θ) Hough transform of lines from (0, z0) in (s, z)."""
        z0 = np.linspace(-self.z0_max, self.z0_max, self.n_z0)
        theta = np.arctan2(s[:, None], z[:, None] - z0[None, :])                            # (m, Z)
        tb = np.floor(theta / self.theta_tol).astype(np.int64)
        zi = np.broadcast_to(np.arange(self.n_z0), tb.shape)
        active = np.ones(idx.size, bool)
        parts = []
        while active.sum() >= self.min_hits:
            # votes of the active hits in bins (z0, t) and (z0, t + 1): the best pair wins
            keys = (zi[active] * (1 << 40) + (tb[active] + (1 << 39))).ravel()   # t bins may be < 0
            uk, cnt = np.unique(keys, return_counts=True)
            nxt = np.searchsorted(uk, uk + 1)
            pair = cnt + np.where((nxt < uk.size) & (uk[np.minimum(nxt, uk.size - 1)] == uk + 1),
                                  cnt[np.minimum(nxt, uk.size - 1)], 0)
            best = int(np.argmax(pair))
            if pair[best] < self.min_hits:
                break
            j, b = divmod(int(uk[best]), 1 << 40)
            b -= 1 << 39
            members = active & ((tb[:, j] == b) | (tb[:, j] == b + 1))
            parts.append(idx[members])
            active &= ~members
        return parts
