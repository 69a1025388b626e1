"""Pixel digitisation of surface crossings: modules, pixel clusters, merged clusters, noise.

Each crossing of a sensor of thickness ``T`` fires the pixels under the track's path
through the silicon: along each local axis the path spans ``T |t_u / t_n|`` (t = unit
direction, n = sensor normal), so the cluster is the box of pixel indices from the entry
to the exit point. The measured position is the centre of that box (digital clustering:
pitch/sqrt(12) resolution for one-pixel clusters). Two crossings on the same module whose
boxes overlap or touch make one merged cluster (box union; the truth particle is the one
that deposited more charge, as in TrackML), which is how two tracks come to share a hit.

Local coordinates: disks ``(u, v) = (x, y)``; cylinders ``(u, v) = (r phi, z)``. Modules
tile disks in ``(x, y)`` squares and cylinders in ``(r phi, z)`` rectangles of
``module_size`` mm; the module index is unique within a surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgraph.sources.simulate.material import landau_factor
from hepgraph.sources.simulate.surfaces import Surfaces

#: Most probable silicon energy loss of a MIP per mm of path (MeV/mm): 3.88 MeV/cm mean.
SI_MIP_MEV_PER_MM = 0.388


@dataclass
class Clusters:
    """Pixel clusters (one per hit), rows in any order.

    Attributes:
        event, surface, module: (H,) int64 indices.
        iu0, iu1, iv0, iv1: (H,) int64 pixel index box (inclusive).
        charge: (H,) deposited energy (MeV). truth: (H,) particle id (-1 = noise).
        ncells: (H,) fired pixels.
    """

    event: np.ndarray
    surface: np.ndarray
    module: np.ndarray
    iu0: np.ndarray
    iu1: np.ndarray
    iv0: np.ndarray
    iv1: np.ndarray
    charge: np.ndarray
    truth: np.ndarray
    ncells: np.ndarray

    def take(self, idx: np.ndarray) -> Clusters:
        """The clusters at ``idx``."""
        return Clusters(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Clusters]) -> Clusters:
        """Rows of several cluster sets."""
        return Clusters(*(np.concatenate([getattr(p, f) for p in parts]) for f in Clusters.__dataclass_fields__))


def local_frame(pos: np.ndarray, surface: np.ndarray, surf: Surfaces) -> tuple[np.ndarray, ...]:
    """Local ``u, v`` (mm) and the unit vectors ``e_u, e_v, e_n`` (H, 3) of each point's surface."""
    cyl = surface < surf.n_cyl
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    r = np.hypot(pos[:, 0], pos[:, 1])
    u = np.where(cyl, r * np.mod(phi, 2 * np.pi), pos[:, 0])
    v = np.where(cyl, pos[:, 2], pos[:, 1])
    c, s, one, zero = np.cos(phi), np.sin(phi), np.ones_like(phi), np.zeros_like(phi)
    e_u = np.where(cyl[:, None], np.stack([-s, c, zero], 1), np.stack([one, zero, zero], 1))
    e_v = np.where(cyl[:, None], np.stack([zero, zero, one], 1), np.stack([zero, one, zero], 1))
    e_n = np.where(cyl[:, None], np.stack([c, s, zero], 1), np.stack([zero, zero, one], 1))
    return u, v, e_u, e_v, e_n


def module_ids(u: np.ndarray, v: np.ndarray, surface: np.ndarray, surf: Surfaces,
               module_size: tuple[float, float]) -> np.ndarray:
    """(H,) module index within the surface (tiles of ``module_size`` mm in (u, v))."""
    mu, mv = float(module_size[0]), float(module_size[1])
    cyl = surface < surf.n_cyl
    half = np.concatenate([surf.cyl_half, np.zeros(surf.disk_z.size)])[surface]
    rmax = np.concatenate([np.zeros(surf.n_cyl), surf.disk_rmax])[surface]
    # columns along v: cylinders from -half, disks from -r_max; rows along u: cylinders from phi 0
    nv = np.where(cyl, np.ceil(2 * half / mv), np.ceil(2 * rmax / mv)).astype(np.int64)
    iu = np.floor(np.where(cyl, u, u + rmax) / mu).astype(np.int64)
    iv = np.floor(np.where(cyl, v + half, v + rmax) / mv).astype(np.int64)
    iv = np.clip(iv, 0, np.maximum(nv - 1, 0))
    return iu * np.maximum(nv, 1) + iv


def digitise(
    rng: np.random.Generator, event: np.ndarray, truth: np.ndarray, pos: np.ndarray, direction: np.ndarray,
    surface: np.ndarray, surf: Surfaces, *, pitch: tuple[float, float], thickness: float,
    module_size: tuple[float, float], landau_shape: float = 4.0, max_pixels: int = 40,
) -> Clusters:
    """Pixel clusters of crossings (one per crossing, before merging).

    Args:
        rng: the block's generator (energy-loss fluctuations).
        event: (H,) event index of each crossing.
        truth: (H,) particle id of each crossing.
        pos: (H, 3) crossing point on the surface (mm).
        direction: (H, 3) unit track direction there.
        surface: (H,) surface index.
        surf: the surfaces.
        pitch: pixel size (mm) along u and v.
        thickness: sensor thickness (mm).
        module_size: module tile (mm) along u and v.
        landau_shape: shape of the energy-loss fluctuation (smaller = broader).
        max_pixels: longest cluster along one axis (grazing tracks).
    """
    u, v, e_u, e_v, e_n = local_frame(pos, surface, surf)
    tn = np.abs(np.einsum("ij,ij->i", direction, e_n))
    tn = np.maximum(tn, 1e-3)
    pu, pv = float(pitch[0]), float(pitch[1])
    half_u = np.minimum(0.5 * thickness * np.abs(np.einsum("ij,ij->i", direction, e_u)) / tn, max_pixels * pu / 2)
    half_v = np.minimum(0.5 * thickness * np.abs(np.einsum("ij,ij->i", direction, e_v)) / tn, max_pixels * pv / 2)
    iu0, iu1 = np.floor((u - half_u) / pu).astype(np.int64), np.floor((u + half_u) / pu).astype(np.int64)
    iv0, iv1 = np.floor((v - half_v) / pv).astype(np.int64), np.floor((v + half_v) / pv).astype(np.int64)
    ncells = (iu1 - iu0 + 1) + (iv1 - iv0 + 1) - 1                      # cells a line crosses
    path = thickness / tn
    charge = SI_MIP_MEV_PER_MM * path * landau_factor(rng, u.size, landau_shape)
    mod = module_ids(u, v, surface, surf, module_size)
    return Clusters(event.astype(np.int64), surface.astype(np.int64), mod, iu0, iu1, iv0, iv1,
                    charge.astype(np.float32), truth.astype(np.int64), ncells.astype(np.int64))


def _union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) representative (smallest index) of each element's component of the pairs (a, b)."""
    lab = np.arange(n)
    if a.size == 0:
        return lab
    while True:
        m = np.minimum(lab[a], lab[b])
        new = lab.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]                                         # pointer jumping
        if np.array_equal(new, lab):
            return lab
        lab = new


def merge(cl: Clusters, window: int = 8) -> Clusters:
    """Merge clusters of one module whose pixel boxes overlap or touch.

    Candidate pairs are rows within ``window`` places of each other in (event, surface,
    module, u) order, so a merge is found unless more than ``window`` clusters of one module
    start between the two along u.
    """
    n = cl.event.size
    if n < 2:
        return cl
    order = np.lexsort((cl.iu0, cl.module, cl.surface, cl.event))
    s = cl.take(order)
    pa, pb = [], []
    for k in range(1, window + 1):
        i = np.arange(n - k)
        j = i + k
        same = (s.event[i] == s.event[j]) & (s.surface[i] == s.surface[j]) & (s.module[i] == s.module[j])
        touch = (s.iu0[j] <= s.iu1[i] + 1) & (s.iu0[i] <= s.iu1[j] + 1)
        touch &= (s.iv0[j] <= s.iv1[i] + 1) & (s.iv0[i] <= s.iv1[j] + 1)
        ok = same & touch
        pa.append(i[ok])
        pb.append(j[ok])
    rep = _union_find(n, np.concatenate(pa), np.concatenate(pb))
    if np.array_equal(rep, np.arange(n)):
        return s
    uniq, inv = np.unique(rep, return_inverse=True)
    m = uniq.size

    def red(x: np.ndarray, fn: np.ufunc, init: int) -> np.ndarray:
        out = np.full(m, init, np.int64)
        fn.at(out, inv, x)
        return out

    big = np.iinfo(np.int64).max
    charge = np.bincount(inv, weights=s.charge, minlength=m)
    # truth: the member with the most charge
    best = np.lexsort((-s.charge, inv))
    first = best[np.r_[True, inv[best][1:] != inv[best][:-1]]]
    return Clusters(s.event[uniq], s.surface[uniq], s.module[uniq], red(s.iu0, np.minimum, big),
                    red(s.iu1, np.maximum, -big), red(s.iv0, np.minimum, big), red(s.iv1, np.maximum, -big),
                    charge.astype(np.float32), s.truth[first], np.bincount(inv, weights=s.ncells,
                                                                            minlength=m).astype(np.int64))


def positions(cl: Clusters, surf: Surfaces, pitch: tuple[float, float]) -> np.ndarray:
    """(H, 3) float64 cluster centres (mm) on their surfaces."""
    pu, pv = float(pitch[0]), float(pitch[1])
    u = 0.5 * (cl.iu0 + cl.iu1 + 1) * pu
    v = 0.5 * (cl.iv0 + cl.iv1 + 1) * pv
    cyl = cl.surface < surf.n_cyl
    out = np.empty((u.size, 3))
    if cyl.any():
        r = surf.cyl_r[cl.surface[cyl]]
        phi = u[cyl] / r
        out[cyl] = np.stack([r * np.cos(phi), r * np.sin(phi), v[cyl]], 1)
    if (~cyl).any():
        out[~cyl] = np.stack([u[~cyl], v[~cyl], surf.disk_z[cl.surface[~cyl] - surf.n_cyl]], 1)
    return out


def noise(
    rng: np.random.Generator, counts: np.ndarray, surf: Surfaces, *, pitch: tuple[float, float],
    module_size: tuple[float, float],
) -> Clusters:
    """``counts[e]`` one-pixel noise clusters in event ``e``, uniform over the sensitive area."""
    tot = int(counts.sum())
    event = np.repeat(np.arange(counts.size), counts)
    area = surf.area()
    surface = rng.choice(surf.size, size=tot, p=area / area.sum()) if tot else np.zeros(0, np.int64)
    phi = rng.uniform(0, 2 * np.pi, tot)
    cyl = surface < surf.n_cyl
    pos = np.empty((tot, 3))
    if cyl.any():
        r = surf.cyl_r[surface[cyl]]
        pos[cyl] = np.stack([r * np.cos(phi[cyl]), r * np.sin(phi[cyl]),
                             rng.uniform(-1, 1, cyl.sum()) * surf.cyl_half[surface[cyl]]], 1)
    if (~cyl).any():
        d = surface[~cyl] - surf.n_cyl
        r = np.sqrt(rng.uniform(surf.disk_rmin[d] ** 2, surf.disk_rmax[d] ** 2))
        pos[~cyl] = np.stack([r * np.cos(phi[~cyl]), r * np.sin(phi[~cyl]), surf.disk_z[d]], 1)
    u, v, *_ = local_frame(pos, surface, surf)
    iu = np.floor(u / pitch[0]).astype(np.int64)
    iv = np.floor(v / pitch[1]).astype(np.int64)
    charge = (SI_MIP_MEV_PER_MM * 0.1 * rng.exponential(1.0, tot)).astype(np.float32)
    return Clusters(event, surface.astype(np.int64), module_ids(u, v, surface, surf, module_size), iu, iu,
                    iv, iv, charge, np.full(tot, -1, np.int64), np.ones(tot, np.int64))
