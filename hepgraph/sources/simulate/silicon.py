"""Silicon pixel trackers: ``sim-forward-planes`` (planes along the beam) and ``sim-silicon-barrel``.

One simulator, two presets (``configs/detectors/forward-planes.yaml``,
``silicon-barrel.yaml``). A detector is a list of barrel cylinders and disks (planes
z = const) in an optional solenoid field along z. Each event holds a Poisson number of
collisions (at least one) drawn from a Gaussian luminous region; each collision emits a
Poisson number of charged particles with momenta log-uniform in ``momentum`` (``p`` or
``p_T``), pseudorapidity uniform in ``eta`` (a ``backward_fraction`` of them mirrored to
-z). Particles follow exact helices (straight lines at B = 0,
:mod:`~hepgraph.sources.simulate.surfaces`); each crossing scatters (Highland, thin
scatterer ``x_over_x0`` per surface), fires with probability ``efficiency``, and becomes a
pixel cluster (:mod:`~hepgraph.sources.simulate.pixels`): clusters of two particles that
touch on a module merge into one hit. A fraction ``secondaries.rate`` of the particles
interact in one of their sensors and emit ``secondaries.multiplicity`` charged pions from
there (new truth particles whose vertex is the interaction point). Noise hits (one pixel,
uniform over the sensitive area) make up ``noise_fraction`` of the hits.

Columns: ``x, y, z`` (mm), ``charge`` (MeV), ``layer`` (surface index: cylinders first,
then disks in z order), ``module`` (index within the surface), ``hit_ncells``, truth
``track_id`` / ``pdg`` and the particle table. The manifest records the field and the
surfaces (``extra.tracker_geometry``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError
from hepgraph.events import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources.base import SourceInfo
from hepgraph.sources.simulate import gun, pixels
from hepgraph.sources.simulate.base import (
    SimulatedSource,
    check_positive,
    check_range,
    make_factory,
)
from hepgraph.sources.simulate.material import highland, orthonormal_basis
from hepgraph.sources.simulate.surfaces import Helices, Surfaces, crossings, project_to_surface
from hepgraph.sources.simulate.tracker import scattering_offsets
from hepgraph.sources.simulate.truth import ParticleList


class SiliconTracker(SimulatedSource):
    """Silicon pixel tracker of cylinders and disks (see the module docstring)."""

    detector = "forward-planes"

    def validate(self) -> None:
        """Check the preset (surfaces, ranges, fractions); raise ConfigError."""
        c = self.cfg
        for key in ("cylinders", "disks"):
            rows = c[key]
            width = 2 if key == "cylinders" else 3
            if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != width for r in rows):
                raise ConfigError(f"`{key}` must be a list of {width}-number lists, got `{rows}`")
        if not c["cylinders"] and not c["disks"]:
            raise ConfigError("the tracker has no surfaces: give `cylinders` and/or `disks`")
        for r, h in c["cylinders"]:
            if r <= 0 or h <= 0:
                raise ConfigError(f"cylinder [{r}, {h}] needs radius > 0 and half_length > 0 (mm)")
        for z, lo, hi in c["disks"]:
            if not 0 <= lo < hi:
                raise ConfigError(f"disk [{z}, {lo}, {hi}] needs 0 <= r_min < r_max (mm)")
        check_positive(c, "thickness", integer=False)
        check_range(c["pitch"], "pitch")
        check_range(c["module_size"], "module_size")
        check_range(c["momentum"], "momentum")
        check_range(c["eta"], "eta", positive=False)
        if c["momentum_is"] not in ("p", "pt"):
            raise ConfigError(f"`momentum_is` = `{c['momentum_is']}` must be `p` or `pt`")
        if not 0 < c["efficiency"] <= 1:
            raise ConfigError(f"`efficiency` = `{c['efficiency']}` must be in (0, 1]")
        for key in ("noise_fraction", "backward_fraction"):
            if not 0 <= c[key] < 1:
                raise ConfigError(f"`{key}` = `{c[key]}` must be in [0, 1)")
        if c["collisions"] <= 0 or c["tracks_per_collision"] <= 0:
            raise ConfigError("`collisions` and `tracks_per_collision` must be > 0 (Poisson means)")
        sec = c["secondaries"]
        if not 0 <= sec["rate"] <= 1 or int(sec["multiplicity"]) < 1:
            raise ConfigError("`secondaries.rate` must be in [0, 1] and `secondaries.multiplicity` >= 1")
        check_range(sec["momentum_fraction"], "secondaries.momentum_fraction")
        gun.species_table(c["species"])
        if len(c["species_weights"]) != len(c["species"]):
            raise ConfigError(f"`species_weights` needs {len(c['species'])} entries, one per species")

    @property
    def surfaces(self) -> Surfaces:
        """Cylinders in preset order, disks sorted by z."""
        cyl = np.asarray(self.cfg["cylinders"], np.float64).reshape(-1, 2)
        disks = np.asarray(self.cfg["disks"], np.float64).reshape(-1, 3)
        disks = disks[np.argsort(disks[:, 0], kind="stable")]
        return Surfaces(cyl[:, 0], cyl[:, 1], disks[:, 0], disks[:, 1], disks[:, 2])

    def geometry(self) -> dict[str, Any]:
        """The manifest's ``tracker_geometry`` record (:mod:`hepgraph.events.geometry` format)."""
        s = self.surfaces
        out: list[dict[str, Any]] = []
        for i in range(s.n_cyl):
            out.append({"layer": i, "kind": "cylinder", "r": float(s.cyl_r[i]),
                        "z": [-float(s.cyl_half[i]), float(s.cyl_half[i])]})
        for d in range(s.disk_z.size):
            out.append({"layer": s.n_cyl + d, "kind": "plane", "z": float(s.disk_z[d]),
                        "r": [float(s.disk_rmin[d]), float(s.disk_rmax[d])]})
        return {"surfaces": out, "layer_columns": ["layer"], "module_column": "module",
                "origin": "simulator"}

    def info(self) -> SourceInfo:
        """Features, field, extent, surfaces and luminous region of the preset."""
        c, s = self.cfg, self.surfaces
        rmax = float(max(np.max(s.cyl_r, initial=0.0), np.max(s.disk_rmax, initial=0.0)))
        zmax = float(max(np.max(s.cyl_half, initial=0.0), np.max(np.abs(s.disk_z), initial=0.0)))
        return SourceInfo(
            default_task="edge-classification",
            units={"charge": "MeV"},
            default_features=[["x", 0.0, 1.0 / rmax], ["y", 0.0, 1.0 / rmax], ["z", 0.0, 1.0 / zmax],
                              ["charge", 0.0, 1.0 / (pixels.SI_MIP_MEV_PER_MM * c["thickness"])]],
            extra={"detector": self.detector, "field_T": float(c["field_T"]),
                   "extent": [[-rmax, rmax], [-rmax, rmax], [-zmax, zmax]],
                   "tracker_geometry": self.geometry(),
                   "luminous_region": {"sigma": [float(v) for v in c["vertex_sigma"]]}},
        )

    def _primaries(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        """(event, species index, momentum (N, 3) GeV, vertex (N, 3) mm) of the primaries."""
        c = self.cfg
        ncoll = np.maximum(rng.poisson(float(c["collisions"]), n), 1)
        cev = np.repeat(np.arange(n), ncoll)
        cvtx = gun.gaussian_vertices(rng, cev.size, c["vertex_sigma"])
        per = rng.poisson(float(c["tracks_per_collision"]), cev.size)
        ev, vtx = np.repeat(cev, per), np.repeat(cvtx, per, axis=0)
        m = ev.size
        sp = gun.choose(rng, m, c["species_weights"], len(c["species"]))
        eta = rng.uniform(c["eta"][0], c["eta"][1], m)
        eta = np.where(rng.random(m) < float(c["backward_fraction"]), -eta, eta)
        theta = 2.0 * np.arctan(np.exp(-eta))
        phi = rng.uniform(0.0, 2 * np.pi, m)
        size = gun.log_uniform(rng, c["momentum"][0], c["momentum"][1], m)
        p = size / np.sin(theta) if c["momentum_is"] == "pt" else size
        d = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], 1)
        return ev, sp, d * p[:, None], vtx

    def _crossings(self, mom: np.ndarray, vtx: np.ndarray, q: np.ndarray,
                   start: np.ndarray | None = None) -> tuple[Helices, np.ndarray, np.ndarray]:
        b = float(self.cfg["field_T"])
        hx = Helices.make(vtx, mom, q, b)
        s, ok = crossings(hx, self.surfaces, q, mom, b)
        ok &= q[:, None] != 0
        if start is not None:                       # a secondary never re-enters its own sensor
            has = start >= 0
            ok[np.flatnonzero(has), start[has]] = False
        return hx, s, ok

    def _secondaries(self, rng: np.random.Generator, ev: np.ndarray, pid: np.ndarray, mom: np.ndarray,
                     hx: Helices, s: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, ...]:
        """Daughters of the particles that interact in one of their sensors."""
        sec = self.cfg["secondaries"]
        nhit = ok.sum(1)
        parent = np.flatnonzero((nhit > 0) & (rng.random(ev.size) < float(sec["rate"])))
        k = int(sec["multiplicity"])
        if parent.size == 0:
            z3 = np.zeros((0, 3))
            return np.zeros(0, np.int64), z3, z3, np.zeros(0, np.int64)
        # the interaction happens at a random one of the parent's crossings
        pick = np.floor(rng.random(parent.size) * nhit[parent]).astype(np.int64)
        srt = np.sort(np.where(ok[parent], s[parent], np.inf), axis=1)
        s_int = srt[np.arange(parent.size), pick]
        sub = Helices(hx.pos[parent], hx.pt[parent], hx.phi0[parent], hx.tanl[parent], hx.hr[parent])
        where, phase = sub.at(s_int)
        d = sub.directions(phase)
        surf_of = np.argmax(np.where(ok[parent], s[parent], np.inf) == s_int[:, None], axis=1)
        rep = np.repeat(np.arange(parent.size), k)
        e1, e2 = orthonormal_basis(d[rep])
        ang = rng.uniform(0.0, float(sec["max_angle"]), rep.size)
        az = rng.uniform(0.0, 2 * np.pi, rep.size)
        dd = (np.cos(ang)[:, None] * d[rep]
              + np.sin(ang)[:, None] * (np.cos(az)[:, None] * e1 + np.sin(az)[:, None] * e2))
        frac = rng.uniform(sec["momentum_fraction"][0], sec["momentum_fraction"][1], rep.size)
        p = np.linalg.norm(mom[parent], axis=1)[rep] * frac
        return ev[parent][rep], dd * p[:, None], where[rep], surf_of[rep]

    def simulate(self, rng: np.random.Generator, n: int, start: int) -> pa.Table:
        """Simulate ``n`` events with ids ``start ..`` (see the module docstring)."""
        c = self.cfg
        surf = self.surfaces
        names = list(c["species"])
        pdgs, masses, charges = gun.species_table(names)
        ev, sp, mom, vtx = self._primaries(rng, n)
        truth = ParticleList(n)
        pid = truth.add(ev, pdgs[sp], charges[sp], mom, vtx)
        q = charges[sp].astype(np.float64)
        hx, s, ok = self._crossings(mom, vtx, q)
        # secondaries: charged pions from an interaction point on a parent's sensor
        sev, smom, svtx, ssurf = self._secondaries(rng, ev, pid, mom, hx, s, ok)
        if sev.size:
            spdg, smass, sq = gun.species_table(["pi+", "pi-"])
            alt = np.arange(sev.size) % 2
            spid = truth.add(sev, spdg[alt], sq[alt], smom, svtx)
            shx, ss, sok = self._crossings(smom, svtx, sq[alt].astype(np.float64), ssurf)
            ev, pid = np.concatenate([ev, sev]), np.concatenate([pid, spid])
            mom, mass, q = np.concatenate([mom, smom]), np.concatenate([masses[sp], smass[alt]]), \
                np.concatenate([q, sq[alt].astype(np.float64)])
            pdg_all = np.concatenate([pdgs[sp], spdg[alt]])
            hx = Helices(*(np.concatenate([getattr(hx, f), getattr(shx, f)]) for f in
                           ("pos", "pt", "phi0", "tanl", "hr")))
            s, ok = np.concatenate([s, ss]), np.concatenate([ok, sok])
        else:
            mass, pdg_all = masses[sp], pdgs[sp]
        # crossings of each particle in path order (invalid ones last)
        order = np.argsort(np.where(ok, s, np.inf), axis=1, kind="stable")
        s = np.take_along_axis(s, order, 1)
        ok = np.take_along_axis(ok, order, 1)
        surface = order
        pos, phase = hx.at(np.where(ok, s, 0.0))
        direction = hx.directions(phase)
        x0 = float(c["x_over_x0"])
        if x0 > 0 and ok.any():
            p_mev = np.linalg.norm(mom, axis=1) * 1e3
            beta = p_mev / np.hypot(p_mev, mass)
            path = np.where(ok, s, 1e9) * np.sqrt(1.0 + np.where(np.isfinite(hx.tanl), hx.tanl, 0.0) ** 2)[:, None]
            d1, d2 = scattering_offsets(rng, highland(p_mev, beta, x0), path, ok)
            e1, e2 = orthonormal_basis(direction[ok])
            moved = pos[ok] + d1[ok, None] * e1 + d2[ok, None] * e2
            pos[ok] = project_to_surface(moved, direction[ok], surface[ok], surf)
        keep = ok & (rng.random(ok.shape) < float(c["efficiency"]))
        trk, j = np.nonzero(keep)
        cl = pixels.digitise(rng, ev[trk], pid[trk], pos[trk, j], direction[trk, j], surface[trk, j], surf,
                             pitch=tuple(c["pitch"]), thickness=float(c["thickness"]),
                             module_size=tuple(c["module_size"]))
        cl = pixels.merge(cl)
        f = float(c["noise_fraction"])
        nsig = np.bincount(cl.event, minlength=n)
        nz = pixels.noise(rng, rng.poisson(nsig * f / (1.0 - f)), surf, pitch=tuple(c["pitch"]),
                          module_size=tuple(c["module_size"]))
        cl = pixels.Clusters.concat([cl, nz])
        cl = cl.take(np.lexsort((cl.iv0, cl.iu0, cl.module, cl.surface, cl.event)))
        hpos = pixels.positions(cl, surf, tuple(c["pitch"])).astype(np.float32)
        # pdg of each hit's particle: particles are (event, id) unique; look them up
        key_p = ev * (1 << 32) + pid
        srt = np.argsort(key_p)
        found = np.searchsorted(key_p[srt], cl.event * (1 << 32) + np.maximum(cl.truth, 0))
        hpdg = np.where(cl.truth >= 0, pdg_all[srt[np.minimum(found, srt.size - 1)]], 0) if srt.size else \
            np.zeros(cl.truth.size, np.int32)
        hits = {"x": hpos[:, 0], "y": hpos[:, 1], "z": hpos[:, 2], "charge": cl.charge,
                "layer": cl.surface.astype(np.int32), "module": cl.module.astype(np.int32),
                "hit_ncells": cl.ncells, "track_id": cl.truth, "pdg": hpdg.astype(np.int32)}
        counts = np.bincount(cl.event, minlength=n)
        pcounts, pcols = truth.columns(cl.event, cl.truth)
        off = np.repeat(np.arange(n), pcounts)
        events = {"event_id": np.arange(start, start + n, dtype=np.int64),
                  "n_tracks": np.bincount(off[pcols["particle_nhits"] >= 3], minlength=n).astype(np.int32)}
        return table_from_flat(counts, hits, events, pcounts, pcols)


class SiliconBarrel(SiliconTracker):
    """Silicon barrel + endcap disks in a 2 T solenoid (preset ``silicon-barrel``)."""

    detector = "silicon-barrel"


SOURCES.register("sim-forward-planes", kind="simulator", detector="forward-planes")(make_factory(SiliconTracker))
SOURCES.register("sim-silicon-barrel", kind="simulator", detector="silicon-barrel")(make_factory(SiliconBarrel))
