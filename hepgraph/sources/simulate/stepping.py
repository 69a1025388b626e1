"""Charged-particle stepping in a dense medium without field (liquid argon), vectorised.

All steps of all tracks of a block are built at once as flat arrays (one row per step):

1. each track's path is cut into steps of ``step`` mm up to the smallest of its CSDA
   range, its ``max_path`` (a hadronic interaction point) and its distance to the
   detector wall;
2. the kinetic energy at each step follows from the residual range through the range
   table (:func:`material.kinetic_from_range`), so a stopping track deposits exactly its
   kinetic energy and the Bragg peak comes out of Bethe–Bloch;
3. multiple scattering adds Gaussian projected angles of rms ``13.6 MeV / (beta p)
   sqrt(step / X0)`` per step; their running sums (segmented cumulative sums) give the
   direction, whose running sum gives the position;
4. energy-loss fluctuations (mean-one Gamma factors) are renormalised per track so the
   track's total loss is exact; delta rays above ``delta_cut`` MeV are drawn from the
   1/T^2 spectrum and their energy removed from the parent's ionisation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from hepgraph.sources.simulate.material import (
    ME_MEV, Material, csda_range_cm, kinetic_from_range, landau_factor, orthonormal_basis,
)
from hepgraph.constants import BETHE_K


@dataclass
class Tracks:
    """A batch of N charged tracks to step (one row per track)."""

    event: np.ndarray      # (N,) int64 event index within the block
    pid: np.ndarray        # (N,) int64 particle id
    pdg: np.ndarray        # (N,) int32
    mass: np.ndarray       # (N,) float64 MeV
    pos: np.ndarray        # (N, 3) mm
    dir: np.ndarray        # (N, 3) unit
    kinetic: np.ndarray    # (N,) MeV
    semantic: np.ndarray   # (N,) int8
    max_path: np.ndarray   # (N,) mm (inf: until stopping or leaving)

    def __len__(self) -> int:
        return int(self.event.shape[0])

    def take(self, idx: np.ndarray) -> Tracks:
        """Rows ``idx``."""
        return Tracks(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Tracks]) -> Tracks:
        """Row-wise concatenation."""
        return Tracks(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                         for f in fields(Tracks)})


@dataclass
class Deposits:
    """Point energy deposits (M rows): event, particle id, pdg, semantic, pos (M, 3) mm, energy MeV."""

    event: np.ndarray
    pid: np.ndarray
    pdg: np.ndarray
    semantic: np.ndarray
    pos: np.ndarray
    energy: np.ndarray

    @staticmethod
    def concat(parts: list[Deposits]) -> Deposits:
        """Row-wise concatenation."""
        return Deposits(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                           for f in fields(Deposits)})


@dataclass
class TrackEnd:
    """Per-track end state: pos (N, 3), dir (N, 3), kinetic MeV, path mm, stopped, interacted."""

    pos: np.ndarray
    dir: np.ndarray
    kinetic: np.ndarray
    path: np.ndarray
    stopped: np.ndarray
    interacted: np.ndarray


def distance_to_exit(pos: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Straight-line distance (mm) from ``pos`` along ``d`` to the box wall (0 if outside)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (hi - pos) / d, np.where(d < 0, (lo - pos) / d, np.inf))
    inside = ((pos >= lo) & (pos <= hi)).all(axis=1)
    return np.where(inside, t.min(axis=1), 0.0)


def segment_cumsum(v: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum of ``v`` restarted at each segment (axis 0)."""
    cs = np.cumsum(v, axis=0)
    base = np.where(starts > 0, starts - 1, 0)
    off = cs[base] * (starts > 0).reshape((-1,) + (1,) * (v.ndim - 1))
    return cs - np.repeat(off, counts, axis=0)


def step_tracks(
    rng: np.random.Generator, tr: Tracks, mat: Material, step: float,
    lo: np.ndarray, hi: np.ndarray, delta_cut: float = np.inf, margin: float = 1.3,
) -> tuple[Deposits, TrackEnd, Tracks]:
    """Step every track of ``tr`` to its end.

    Args:
        rng: the block's generator.
        tr: N tracks.
        mat: the medium.
        step: step length (mm).
        lo, hi: (3,) detector box corners (mm); paths are cut ``margin`` x beyond the
            straight-line exit distance (deposits outside are dropped at voxelisation).
        delta_cut: kinetic threshold (MeV) of explicit delta rays (heavy particles only).

    Returns:
        (deposits at step midpoints, end states, delta-ray electrons to step next).
    """
    n = len(tr)
    x0_mm = mat.x0_cm * 10.0
    r0 = np.empty(n)  # CSDA range (mm), per distinct mass
    for m in np.unique(tr.mass):
        sel = tr.mass == m
        r0[sel] = csda_range_cm(tr.kinetic[sel], float(m), mat) * 10.0
    exit_d = distance_to_exit(tr.pos, tr.dir, lo, hi) * margin + 2 * step
    length = np.minimum(np.minimum(r0, tr.max_path), exit_d)
    counts = np.maximum(np.ceil(length / step).astype(np.int64), 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    tidx = np.repeat(np.arange(n), counts)                       # (S,) track of each step
    k = np.arange(total) - starts[tidx]                           # step index within track
    seg = np.minimum(step, length[tidx] - k * step)               # (S,) step lengths
    seg = np.maximum(seg, 0.0)
    mass = tr.mass[tidx]
    t_start = np.empty(total)
    t_end = np.empty(total)
    for m in np.unique(tr.mass):
        sel = mass == m
        res = r0[tidx[sel]] - k[sel] * step
        t_start[sel] = kinetic_from_range(res / 10.0, float(m), mat)
        t_end[sel] = kinetic_from_range((res - seg[sel]) / 10.0, float(m), mat)
    dt = np.maximum(t_start - t_end, 0.0)
    t_mid = 0.5 * (t_start + t_end)
    e_tot = t_mid + mass
    p = np.sqrt(np.maximum(e_tot**2 - mass**2, 1e-12))
    beta = p / e_tot
    # Multiple scattering: per-step projected angles, summed along the track.
    sig = 13.6 / (beta * p) * np.sqrt(seg / x0_mm)
    kick = rng.standard_normal((total, 2)) * sig[:, None]
    ang = segment_cumsum(kick, starts, counts) - kick              # angle at the step start
    e1, e2 = orthonormal_basis(tr.dir)
    d = tr.dir[tidx] + ang[:, :1] * e1[tidx] + ang[:, 1:] * e2[tidx]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    disp = d * seg[:, None]
    start_pos = tr.pos[tidx] + segment_cumsum(disp, starts, counts) - disp
    mid = start_pos + 0.5 * disp
    # Fluctuations, renormalised per track; delta rays taken out of the parent.
    dep = dt * landau_factor(rng, total)
    loss = np.bincount(tidx, weights=dt, minlength=n)
    deltas, e_delta = _delta_rays(rng, tr, tidx, mid, d, seg, t_mid, mass, beta, p, mat, delta_cut, loss)
    fsum = np.bincount(tidx, weights=dep, minlength=n)
    scale = np.where(fsum > 0, (loss - e_delta) / np.where(fsum > 0, fsum, 1.0), 0.0)
    dep *= scale[tidx]
    last = starts + counts - 1
    end_pos = start_pos[last] + disp[last]
    stopped = (r0 <= np.minimum(tr.max_path, exit_d)) & ((end_pos >= lo) & (end_pos <= hi)).all(axis=1)
    interacted = (tr.max_path < np.minimum(r0, exit_d)) & ((end_pos >= lo) & (end_pos <= hi)).all(axis=1)
    end = TrackEnd(end_pos, d[last], t_end[last], length, stopped, interacted)
    deps = Deposits(tr.event[tidx], tr.pid[tidx], tr.pdg[tidx], tr.semantic[tidx], mid, dep)
    return deps, end, deltas


def _delta_rays(
    rng: np.random.Generator, tr: Tracks, tidx: np.ndarray, mid: np.ndarray, d: np.ndarray,
    seg: np.ndarray, t_mid: np.ndarray, mass: np.ndarray, beta: np.ndarray, p: np.ndarray,
    mat: Material, cut: float, loss: np.ndarray,
) -> tuple[Tracks, np.ndarray]:
    """Delta rays with T > cut (PDG eq. 34.14 spectrum ~ 1/T^2); returns (electrons, energy per track)."""
    n = len(tr)
    heavy = mass > 2 * ME_MEV
    gamma = (t_mid + mass) / mass
    bg2 = gamma**2 - 1
    ratio = ME_MEV / mass
    tmax = 2 * ME_MEV * bg2 / (1 + 2 * gamma * ratio + ratio**2)
    ok = heavy & (tmax > cut) & np.isfinite(cut)
    rate = np.zeros_like(seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate[ok] = (0.5 * BETHE_K * mat.z_over_a * mat.density / beta[ok] ** 2
                    * (1 / cut - 1 / tmax[ok]) * seg[ok] / 10.0)
    nd = rng.poisson(rate)
    rows = np.repeat(np.arange(seg.shape[0]), nd)
    u = rng.random(rows.shape[0])
    t = 1.0 / (1.0 / cut - u * (1.0 / cut - 1.0 / tmax[rows]))
    e_per = np.bincount(tidx[rows], weights=t, minlength=n)
    # A delta ray cannot take more than half of its parent's ionisation: drop them if so.
    keep_track = e_per <= 0.5 * loss
    keep = keep_track[tidx[rows]]
    rows, t = rows[keep], t[keep]
    e_per = np.where(keep_track, e_per, 0.0)
    pe = np.sqrt(t**2 + 2 * t * ME_MEV)
    pmax = np.sqrt(tmax[rows] ** 2 + 2 * tmax[rows] * ME_MEV)
    cos_t = np.clip(t / pe * pmax / tmax[rows], -1.0, 1.0)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(0, 2 * np.pi, rows.shape[0])
    dd = d[rows]
    e1, e2 = orthonormal_basis(dd) if rows.size else (dd, dd)
    ddir = cos_t[:, None] * dd + sin_t[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)
    ti = tidx[rows]
    deltas = Tracks(
        event=tr.event[ti], pid=np.full(rows.shape[0], -1, dtype=np.int64),
        pdg=np.full(rows.shape[0], 11, dtype=np.int32), mass=np.full(rows.shape[0], ME_MEV),
        pos=mid[rows], dir=ddir, kinetic=t, semantic=np.full(rows.shape[0], -1, dtype=np.int8),
        max_path=np.full(rows.shape[0], np.inf),
    )
    return deltas, e_per
