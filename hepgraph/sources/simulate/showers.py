"""Electromagnetic showers in a dense medium (parametrised, vectorised over showers).

Each shower of energy E (MeV) starting at a point along an axis is made of:

- a *trunk*: the ionisation of the charged primary before its first hard
  bremsstrahlung — one MIP-like track for an electron, two overlapping tracks (the e+e-
  pair, ~2 MIP) for a photon. Photons first travel an exponential gap of mean
  ``gap_x0`` X0 (9/7 X0, the pair-production mean free path) and deposit nothing there;
- the *core*: the rest of the energy in packets distributed longitudinally as the
  Longo–Sestili gamma profile dE/dt = E b (b t)^(a-1) e^(-b t) / Gamma(a) with
  t in X0 from the trunk end, b = 0.5 and t_max = (a-1)/b = ln(E/E_c) - 0.5 (PDG eq.
  34.36), and laterally as a core + halo profile in units of the Molière radius;
- *low-energy* blips: a fraction of the energy carried by Compton-scattered photons to
  isolated points at exponential distances (mean ``compton_length`` mm).

The energy of the trunk, core and blips adds up to E exactly (before voxel thresholds
and leakage out of the volume).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgraph.sources.simulate.gun import isotropic
from hepgraph.sources.simulate.material import landau_factor, orthonormal_basis
from hepgraph.sources.simulate.stepping import Deposits


@dataclass(frozen=True)
class ShowerModel:
    """Shower parameters (lengths mm, energies MeV); defaults for liquid argon."""

    radiation_length: float = 140.0
    moliere_radius: float = 90.4
    critical_energy: float = 32.84
    gap_x0: float = 9.0 / 7.0
    trunk_min: float = 20.0
    trunk_mean: float = 70.0
    mip_dedx: float = 0.21
    step: float = 1.5
    packet_energy: float = 0.5
    max_packets: int = 4000
    low_energy_fraction: float = 0.05
    blip_energy: float = 0.6
    compton_length: float = 200.0


def shower_deposits(
    rng: np.random.Generator, model: ShowerModel, event: np.ndarray, pid: np.ndarray,
    pdg: np.ndarray, pos: np.ndarray, axis: np.ndarray, energy: np.ndarray,
    is_photon: np.ndarray, semantic: tuple[int, int],
) -> tuple[Deposits, np.ndarray]:
    """Deposits of N showers.

    Args:
        rng: the block's generator.
        model: shower parameters.
        event, pid, pdg: (N,) owner of each shower (its deposits carry them).
        pos: (N, 3) mm primary vertex; axis: (N, 3) unit direction.
        energy: (N,) MeV.
        is_photon: (N,) bool; photons start after the conversion gap with two tracks.
        semantic: (shower class, low-energy class) indices.

    Returns:
        (deposits, (N, 3) shower start points, i.e. the conversion point for photons).
    """
    n = energy.shape[0]
    x0 = model.radiation_length
    gap = np.where(is_photon, rng.exponential(model.gap_x0 * x0, n), 0.0)
    start = pos + axis * gap[:, None]
    n_trk = np.where(is_photon, 2.0, 1.0)
    trunk = model.trunk_min + rng.exponential(model.trunk_mean, n)
    trunk = np.minimum(trunk, 0.5 * energy / (n_trk * model.mip_dedx))
    e1, e2 = orthonormal_basis(axis)

    # Trunk: steps along the axis with fluctuating MIP-like losses.
    ns = np.maximum(np.ceil(trunk / model.step).astype(np.int64), 1)
    sidx = np.repeat(np.arange(n), ns)
    k = np.arange(sidx.shape[0]) - np.repeat(np.cumsum(ns) - ns, ns)
    seg = np.clip(trunk[sidx] - k * model.step, 0.0, model.step)
    t_pos = start[sidx] + axis[sidx] * (k * model.step + 0.5 * seg)[:, None]
    t_e = seg * model.mip_dedx * n_trk[sidx] * landau_factor(rng, sidx.shape[0])
    e_trunk = np.bincount(sidx, weights=t_e, minlength=n)
    rest = np.maximum(energy - e_trunk, 0.0)

    # Low-energy Compton blips.
    e_le = model.low_energy_fraction * rest
    nb = np.where(e_le > 0, np.maximum(np.rint(e_le / model.blip_energy), 1), 0).astype(np.int64)
    bidx = np.repeat(np.arange(n), nb)
    w = rng.exponential(1.0, bidx.shape[0])
    wsum = np.bincount(bidx, weights=w, minlength=n)
    b_e = e_le[bidx] * w / np.where(wsum[bidx] > 0, wsum[bidx], 1.0)

    # Core packets.
    e_core = rest - e_le
    npk = np.where(e_core > 0, np.clip(np.ceil(e_core / model.packet_energy), 1, model.max_packets), 0)
    npk = npk.astype(np.int64)
    pidx = np.repeat(np.arange(n), npk)
    p_e = (e_core / np.maximum(npk, 1))[pidx]
    tmax = np.maximum(np.log(np.maximum(energy, 1e-3) / model.critical_energy) - 0.5, 0.1)
    b = 0.5
    a = b * tmax + 1.0
    depth = rng.gamma(a[pidx], 1.0 / b) * x0                       # mm from the trunk end
    frac = np.minimum(depth / (tmax[pidx] * x0), 3.0)
    core = rng.random(pidx.shape[0]) < 0.8
    rscale = model.moliere_radius * np.where(core, 0.10 + 0.05 * frac, 0.5 + 0.2 * frac)
    u = rng.uniform(0.0, 0.97, pidx.shape[0])
    r = rscale * np.sqrt(u / (1 - u))
    ph = rng.uniform(0, 2 * np.pi, pidx.shape[0])
    base = start[pidx] + axis[pidx] * (trunk[pidx] + depth)[:, None]
    p_pos = base + r[:, None] * (np.cos(ph)[:, None] * e1[pidx] + np.sin(ph)[:, None] * e2[pidx])

    # Blips: from a point on the shower axis, an isotropic Compton flight.
    b_depth = trunk[bidx] + rng.gamma(a[bidx], 1.0 / b) * x0
    b_pos = (start[bidx] + axis[bidx] * b_depth[:, None]
             + isotropic(rng, bidx.shape[0]) * rng.exponential(model.compton_length, bidx.shape[0])[:, None])

    owner = np.concatenate([sidx, pidx, bidx])
    sem = np.concatenate([
        np.full(sidx.shape[0] + pidx.shape[0], semantic[0], dtype=np.int8),
        np.full(bidx.shape[0], semantic[1], dtype=np.int8),
    ])
    deps = Deposits(
        event=event[owner], pid=pid[owner], pdg=pdg[owner], semantic=sem,
        pos=np.concatenate([t_pos, p_pos, b_pos]), energy=np.concatenate([t_e, p_e, b_e]),
    )
    return deps, start
