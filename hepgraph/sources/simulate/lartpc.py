"""``sim-lartpc``: a liquid-argon TPC voxelised in 3D (CVN / spine style single particles).

Each event holds ``particles_per_event`` primaries from one vertex (label = species
index of the first). Charged tracks (mu, pi, p and their secondaries) are stepped with
Bethe–Bloch losses and multiple scattering (:mod:`stepping`); e and gamma shower
(:mod:`showers`). Secondaries: delta rays above ``delta_threshold``, Michel electrons of
stopping muons (mu-: with ``michel_probability``, the rest are captured; mu+ always),
pi+ -> mu+ nu at rest, and pi+ hadronic interactions after an exponential path of mean
``pion_interaction_length`` (a kink with a recoil proton, or absorption into protons).
Energy deposits are summed in voxels; voxels below ``threshold`` MeV are dropped.

Preset: ``configs/detectors/lartpc.yaml``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError
from hepgraph.events import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources.base import SourceInfo
from hepgraph.sources.simulate import gun
from hepgraph.sources.simulate.base import SimulatedSource, check_positive, check_range, make_factory
from hepgraph.sources.simulate.material import ME_MEV, material, mip_dedx, species
from hepgraph.sources.simulate.showers import ShowerModel, shower_deposits
from hepgraph.sources.simulate.stepping import Deposits, Tracks, step_tracks
from hepgraph.sources.simulate.truth import ParticleList, momentum_vectors
from hepgraph.sources.simulate.voxelize import voxelize

SEMANTIC = ["track", "shower", "michel", "delta", "low-energy"]
TRACK, SHOWER, MICHEL, DELTA, LOW = range(5)
MICHEL_MAX_MEV = 52.83
PI_DECAY_MU_KE = 4.12  # MeV, kinetic energy of the mu+ from pi+ -> mu+ nu at rest


def michel_energy(rng: np.random.Generator, n: int) -> np.ndarray:
    """Michel spectrum (MeV): x = E/E_max with pdf 2 x^2 (3 - 2x), CDF 2x^3 - x^4."""
    grid = np.linspace(0.0, 1.0, 2001)
    cdf = 2 * grid**3 - grid**4
    return np.interp(rng.random(n), cdf, grid) * MICHEL_MAX_MEV


def charge_of(pdg: np.ndarray) -> np.ndarray:
    """Electric charge (e) of e, mu, pi, p codes (leptons: negative for positive codes)."""
    a = np.abs(pdg)
    lepton = (a == 11) | (a == 13)
    return np.where(a == 22, 0, np.where(lepton, -np.sign(pdg), np.sign(pdg))).astype(np.int32)


def _rotate(d: np.ndarray, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from hepgraph.sources.simulate.material import orthonormal_basis

    e1, e2 = orthonormal_basis(d)
    ph = rng.uniform(0, 2 * np.pi, d.shape[0])[:, None]
    out = np.cos(theta)[:, None] * d + np.sin(theta)[:, None] * (np.cos(ph) * e1 + np.sin(ph) * e2)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class LArTPC(SimulatedSource):
    """Liquid-argon TPC simulator (see the module docstring)."""

    detector = "lartpc"

    def validate(self) -> None:
        c = self.cfg
        check_positive(c, "particles_per_event")
        check_positive(c, "voxel_size", "step", integer=False)
        shape = c["shape"]
        if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(s, int) and s > 0 for s in shape)):
            raise ConfigError(
                f"`shape` = `{shape}` must be three positive voxel counts; the volume has no "
                "sensitive voxels otherwise"
            )
        names = list(c["species"])
        if not names:
            raise ConfigError("`species` is empty; give at least one of e-, mu-, gamma, pi+, p")
        for s in names:
            species(s)
            if s not in c["momentum"]:
                raise ConfigError(f"`momentum` has no range for species `{s}`; add momentum.{s}: [min, max] (GeV)")
            check_range(c["momentum"][s], f"momentum.{s}")
        if len(c["species_weights"]) != len(names):
            raise ConfigError(f"`species_weights` needs {len(names)} entries, one per species")
        for i, ax in enumerate("xyz"):
            check_range(c["vertex_box"][i], f"vertex_box.{ax}", positive=False)

    @property
    def extent(self) -> list[list[float]]:
        half = np.asarray(self.cfg["shape"]) * self.cfg["voxel_size"] / 2
        return [[-float(h), float(h)] for h in half]

    def info(self) -> SourceInfo:
        return SourceInfo(
            label_names=list(self.cfg["species"]),
            semantic_names=list(SEMANTIC),
            default_task="classification",
            units={"charge": "MeV"},
            default_features=[["charge", 0.0, 1.0]],
            extra={
                "detector": "lartpc", "extent": self.extent, "field_T": 0.0,
                "voxel_size": float(self.cfg["voxel_size"]), "shape": list(self.cfg["shape"]),
                "material": self.cfg["material"], "drift_axis": "x",
            },
        )

    def simulate(self, rng: np.random.Generator, n: int, start: int) -> pa.Table:
        c = self.cfg
        mat = material(c["material"])
        names = list(c["species"])
        pdgs, masses, charges = gun.species_table(names)
        k = int(c["particles_per_event"])
        ev = np.repeat(np.arange(n), k)
        sp = gun.choose(rng, n * k, c["species_weights"], len(names))
        lo = np.array([c["momentum"][s][0] for s in names])[sp]
        hi = np.array([c["momentum"][s][1] for s in names])[sp]
        pmom = gun.log_uniform(rng, lo, hi, n * k) * 1e3                    # MeV
        mass = masses[sp]
        kin = np.sqrt(pmom**2 + mass**2) - mass
        dirs = gun.isotropic(rng, n * k)
        vtx = gun.vertices(rng, n, c["vertex_box"])[ev]
        truth = ParticleList(n)
        pid = truth.add(ev, pdgs[sp], charges[sp], dirs * pmom[:, None] * 1e-3, vtx)

        box = np.array(self.extent)
        lo_b, hi_b = box[:, 0], box[:, 1]
        deposits: list[Deposits] = []
        em = np.isin(pdgs[sp], [11, -11, 22])
        if em.any():
            model = ShowerModel(**{**c["shower"], "mip_dedx": mip_dedx(mat) / 10.0,
                                   "step": float(c["step"])})
            deps, _ = shower_deposits(
                rng, model, ev[em], pid[em], pdgs[sp][em], vtx[em], dirs[em], kin[em],
                pdgs[sp][em] == 22, (SHOWER, LOW))
            deposits.append(deps)
        ch = ~em
        tracks = Tracks(ev[ch], pid[ch], pdgs[sp][ch], mass[ch], vtx[ch], dirs[ch], kin[ch],
                        np.full(int(ch.sum()), TRACK, np.int8), self._interaction_paths(rng, pdgs[sp][ch]))
        for _ in range(8):
            if len(tracks) == 0:
                break
            deps, end, deltas = step_tracks(rng, tracks, mat, float(c["step"]), lo_b, hi_b,
                                            float(c["delta_threshold"]))
            deposits.append(deps)
            tracks = self._secondaries(rng, tracks, end, deltas, truth, masses)
        allp = Deposits.concat(deposits) if deposits else None
        vs = float(c["voxel_size"])
        vox = voxelize(allp, n, lo_b, vs, tuple(c["shape"]), float(c["threshold"]))
        pos = lo_b + (vox.index + 0.5) * vs
        counts = np.bincount(vox.event, minlength=n)
        pcounts, pcols = truth.columns(vox.event, vox.pid)
        v_drift = float(c["drift_velocity"]) * 1e-3                      # mm/ns
        hits = {
            "x": pos[:, 0].astype(np.float32), "y": pos[:, 1].astype(np.float32),
            "z": pos[:, 2].astype(np.float32),
            "t": ((pos[:, 0] - lo_b[0]) / v_drift).astype(np.float32),
            "charge": vox.energy.astype(np.float32), "track_id": vox.pid.astype(np.int64),
            "pdg": vox.pdg.astype(np.int32), "semantic": vox.semantic.astype(np.int8),
        }
        first = np.arange(n) * k
        p0 = dirs[first] * pmom[first, None] * 1e-3
        pt = np.hypot(p0[:, 0], p0[:, 1])
        events = {
            "event_id": np.arange(start, start + n, dtype=np.int64),
            "label": sp[first].astype(np.int32), "n_tracks": np.full(n, k, np.int32),
            "energy": (kin[first] * 1e-3).astype(np.float32),
            "px": p0[:, 0], "py": p0[:, 1], "pz": p0[:, 2], "p": pmom[first] * 1e-3, "pt": pt,
            "theta": np.arctan2(pt, p0[:, 2]), "phi": np.arctan2(p0[:, 1], p0[:, 0]),
            "vx": vtx[first, 0], "vy": vtx[first, 1], "vz": vtx[first, 2],
        }
        events = {kk: (v.astype(np.float32) if v.dtype == np.float64 else v) for kk, v in events.items()}
        return table_from_flat(counts, hits, events, pcounts, pcols)

    def _interaction_paths(self, rng: np.random.Generator, pdg: np.ndarray) -> np.ndarray:
        lam = float(self.cfg["pion_interaction_length"])
        path = np.full(pdg.shape[0], np.inf)
        pi = np.abs(pdg) == 211
        path[pi] = rng.exponential(lam, int(pi.sum()))
        return path

    def _secondaries(
        self, rng: np.random.Generator, tr: Tracks, end: Any, deltas: Tracks, truth: ParticleList,
        masses: np.ndarray,
    ) -> Tracks:
        """Next generation: delta rays, Michel electrons, pi decays and pi interactions."""
        c = self.cfg
        new: list[Tracks] = []

        def spawn(event, pdg, mass, pos, d, kin, sem, max_path=None) -> None:
            m = np.full(event.shape[0], mass) if np.ndim(mass) == 0 else mass
            ids = truth.add(event, pdg, charge_of(pdg), momentum_vectors(kin, m, d), pos)
            mp = np.full(event.shape[0], np.inf) if max_path is None else max_path
            new.append(Tracks(event, ids, pdg.astype(np.int32), m, pos, d, kin,
                              np.full(event.shape[0], sem, np.int8), mp))

        if len(deltas):
            spawn(deltas.event, deltas.pdg, ME_MEV, deltas.pos, deltas.dir, deltas.kinetic, DELTA)
        apdg = np.abs(tr.pdg)
        # Stopping muons: mu+ always decays, mu- decays with michel_probability (else captured).
        mu = end.stopped & (apdg == 13)
        decays = mu & ((tr.pdg == -13) | (rng.random(len(tr)) < float(c["michel_probability"])))
        if decays.any():
            i = np.flatnonzero(decays)
            spawn(tr.event[i], np.where(tr.pdg[i] == 13, 11, -11), ME_MEV, end.pos[i],
                  gun.isotropic(rng, i.size), michel_energy(rng, i.size), MICHEL)
        # Stopping pi+: pi+ -> mu+ nu.
        pis = end.stopped & (tr.pdg == 211)
        if pis.any():
            i = np.flatnonzero(pis)
            spawn(tr.event[i], np.full(i.size, -13), species("mu+").mass, end.pos[i],
                  gun.isotropic(rng, i.size), np.full(i.size, PI_DECAY_MU_KE), TRACK)
        # Pion hadronic interactions.
        hit = end.interacted & (apdg == 211) & (end.kinetic > 1.0)
        if hit.any():
            i = np.flatnonzero(hit)
            kink = rng.random(i.size) < float(c["pion_kink_fraction"])
            t_in = end.kinetic[i]
            t_pi = t_in * rng.uniform(0.5, 0.9, i.size)
            j = i[kink]
            if j.size:
                d_new = _rotate(end.dir[j], rng.uniform(0.2, 1.2, j.size), rng)
                spawn(tr.event[j], tr.pdg[j], tr.mass[j], end.pos[j], d_new, t_pi[kink], TRACK,
                      self._interaction_paths(rng, tr.pdg[j]))
                t_p = (t_in[kink] - t_pi[kink]) * rng.uniform(0.3, 0.7, j.size)
                spawn(tr.event[j], np.full(j.size, 2212), species("p").mass, end.pos[j],
                      gun.isotropic(rng, j.size), t_p, TRACK)
            a = i[~kink]
            if a.size:
                npro = 1 + rng.poisson(1.0, a.size)
                owner = np.repeat(np.arange(a.size), npro)
                w = rng.exponential(1.0, owner.size)
                w /= np.bincount(owner, weights=w)[owner]
                vis = t_in[~kink] * rng.uniform(0.3, 0.7, a.size)
                spawn(tr.event[a][owner], np.full(owner.size, 2212), species("p").mass,
                      end.pos[a][owner], gun.isotropic(rng, owner.size), vis[owner] * w, TRACK)
        if not new:
            return Tracks.concat([tr.take(np.zeros(0, dtype=np.int64))])
        return Tracks.concat(new)


SOURCES.register("sim-lartpc", kind="simulator", detector="lartpc")(make_factory(LArTPC))
