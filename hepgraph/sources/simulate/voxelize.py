"""Point deposits -> voxels: summed energy, truth of the largest contributor, threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgraph.sources.simulate.stepping import Deposits


@dataclass
class Voxels:
    """Voxel hits sorted by (event, voxel key); ``index`` (V, 3) int64 voxel indices."""

    event: np.ndarray
    index: np.ndarray
    energy: np.ndarray
    pid: np.ndarray
    pdg: np.ndarray
    semantic: np.ndarray
    below_threshold: np.ndarray   # (n_events,) energy (MeV) lost in voxels under threshold
    outside: np.ndarray           # (n_events,) energy (MeV) deposited outside the volume


def voxelize(
    deps: Deposits, n_events: int, origin: np.ndarray, voxel: float, shape: tuple[int, int, int],
    threshold: float,
) -> Voxels:
    """Sum deposits into voxels of ``voxel`` mm on a grid of ``shape`` starting at ``origin``.

    Each voxel takes the particle id, PDG code and semantic class of its largest single
    deposit; voxels with less than ``threshold`` MeV are dropped (their energy is counted
    in ``below_threshold``).
    """
    shp = np.asarray(shape, dtype=np.int64)
    idx = np.floor((deps.pos - origin) / voxel).astype(np.int64)
    inside = ((idx >= 0) & (idx < shp)).all(axis=1)
    outside = np.bincount(deps.event[~inside], weights=deps.energy[~inside], minlength=n_events)
    idx, ev, e = idx[inside], deps.event[inside].astype(np.int64), deps.energy[inside]
    key = ((ev * shp[0] + idx[:, 0]) * shp[1] + idx[:, 1]) * shp[2] + idx[:, 2]
    order = np.argsort(key, kind="stable")
    ks, es = key[order], e[order]
    if ks.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Voxels(empty, np.zeros((0, 3), np.int64), np.zeros(0), empty, empty.astype(np.int32),
                      empty.astype(np.int8), np.zeros(n_events), outside)
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    counts = np.diff(np.r_[starts, ks.size])
    esum = np.add.reduceat(es, starts)
    emax = np.maximum.reduceat(es, starts)
    group = np.repeat(np.arange(starts.size), counts)
    is_max = np.flatnonzero(es == emax[group])
    first = is_max[np.r_[True, group[is_max][1:] != group[is_max][:-1]]]
    src = np.flatnonzero(inside)[order[first]]
    keep = esum >= threshold
    vev = ks[starts] // (shp[0] * shp[1] * shp[2])
    below = np.bincount(vev[~keep], weights=esum[~keep], minlength=n_events)
    rem = ks[starts][keep] % (shp[0] * shp[1] * shp[2])
    vidx = np.stack([rem // (shp[1] * shp[2]), (rem // shp[2]) % shp[1], rem % shp[2]], axis=1)
    src = src[keep]
    return Voxels(
        event=vev[keep], index=vidx, energy=esum[keep], pid=deps.pid[src],
        pdg=deps.pdg[src], semantic=deps.semantic[src], below_threshold=below, outside=outside,
    )
