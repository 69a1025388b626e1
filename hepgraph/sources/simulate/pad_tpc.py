"""``sim-pad-tpc``: a gas TPC with pad readout in a uniform field (HA-TPC / T2K ND280 style).

A particle gun sends one charged track per event (species, momentum, angles and vertex
from the preset) through a box TPC with the magnetic field and the drift along x and a
pad plane in y-z. The track is propagated as an exact helix from one pad column (a
plane z = const) to the next, with a Highland kick from the gas of each column. Each
column crossed gives a pad cluster: ``pad_col``, ``pad_row`` (from y), ``y`` smeared by
``sigma_y``, ``x`` (from the drift time) smeared by ``sigma_x``, ``z`` at the column
centre, the drift time ``t`` to the anode and the charge (Bethe–Bloch dE/dx x path in
the column, Landau-like fluctuations; MeV).

A vertex inside the chamber (``vertex_box`` along z) starts the track there: the columns
behind it see nothing, so ``vz`` (the track's start along the pads, ``z_ini``) is a target.

Event targets (regression): ``px, py, pz, p, pt, theta, phi`` (GeV, rad, at the vertex;
``pt`` and ``phi`` about the z axis), ``vx, vy, vz`` (mm), and for the bending plane
(the field is along x): ``p_perp = hypot(py, pz)`` (GeV, the momentum the curvature
measures), ``q_p_perp = q * p_perp`` (GeV, signed by the charge: regress it with the
``inverse`` transform to learn the curvature ``q / p_perp``) and ``sin_phi``.
Preset: ``configs/detectors/pad-tpc.yaml``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError
from hepgraph.events import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources.base import SourceInfo
from hepgraph.sources.simulate import gun
from hepgraph.sources.simulate.base import SimulatedSource, check_positive, check_range, make_factory
from hepgraph.sources.simulate.material import bethe_bloch, landau_factor, material, mip_dedx
from hepgraph.sources.simulate.tracker import plane_hits
from hepgraph.sources.simulate.truth import ParticleList, track_targets

TARGETS = ["px", "py", "pz", "p", "pt", "theta", "phi", "vx", "vy", "vz", "p_perp", "q_p_perp", "sin_phi"]


def to_local(v: np.ndarray) -> np.ndarray:
    """Detector (x, y, z) -> helix frame (z, -y, x): field along x becomes the local z."""
    return np.stack([v[:, 2], -v[:, 1], v[:, 0]], axis=1)


def from_local(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_local`."""
    return np.stack([v[:, 2], -v[:, 1], v[:, 0]], axis=1)


class PadTPC(SimulatedSource):
    """Pad TPC simulator (see the module docstring)."""

    detector = "pad-tpc"

    def validate(self) -> None:
        c = self.cfg
        check_positive(c, "pad_rows", "pad_cols")
        check_positive(c, "pad_height", "pad_width", "drift_length", integer=False)
        check_range(c["momentum"], "momentum")
        check_range(c["theta"], "theta", positive=False)
        check_range(c["phi"], "phi", positive=False)
        for i, ax in enumerate("xyz"):
            check_range(c["vertex_box"][i], f"vertex_box.{ax}", positive=False)
        if not c["species"]:
            raise ConfigError("`species` is empty; give at least one charged particle (mu-, pi+, ...)")
        _, _, q = gun.species_table(c["species"])
        if (q == 0).any():
            raise ConfigError(f"`species` = `{c['species']}` holds a neutral particle; the TPC sees charged tracks only")
        if len(c["species_weights"]) != len(c["species"]):
            raise ConfigError(f"`species_weights` needs {len(c['species'])} entries, one per species")

    @property
    def extent(self) -> list[list[float]]:
        c = self.cfg
        h, w = c["pad_rows"] * c["pad_height"] / 2, c["pad_cols"] * c["pad_width"] / 2
        return [[-float(c["drift_length"]), float(c["drift_length"])], [-h, h], [-w, w]]

    def info(self) -> SourceInfo:
        c = self.cfg
        ext = self.extent
        mip = mip_dedx(material(c["material"])) * c["pad_width"] / 10.0
        return SourceInfo(
            label_names=list(c["species"]),
            default_task="regression",
            units={"charge": "MeV"},
            default_features=[["x", 0.0, 1.0 / ext[0][1]], ["y", 0.0, 1.0 / ext[1][1]],
                              ["z", 0.0, 1.0 / ext[2][1]], ["charge", 0.0, 1.0 / mip]],
            extra={
                "detector": "pad-tpc", "extent": ext, "field_T": float(c["field_T"]),
                "field_axis": "x", "drift_axis": "x", "pad_rows": int(c["pad_rows"]),
                "pad_cols": int(c["pad_cols"]), "pad_size": [float(c["pad_height"]), float(c["pad_width"])],
                "targets": TARGETS, "geometry": "box",
            },
        )

    def _columns(self, rng: np.random.Generator, vtx: np.ndarray, mom: np.ndarray, q: np.ndarray,
                 mass: np.ndarray, zc: np.ndarray, x_x0: float) -> tuple[np.ndarray, ...]:
        """Helix crossings of the pad columns ahead of each vertex (detector frame in, helix
        frame out): positions (N, J, 3), phases (N, J), ok (N, J) and ``behind`` (N, J), the
        columns upstream of the vertex (never crossed). Tracks are propagated in groups that
        share their first column ahead (one group when every vertex is upstream)."""
        first = np.searchsorted(zc, vtx[:, 2], side="right")
        n, j = len(vtx), len(zc)
        lp, phase, ok = np.zeros((n, j, 3)), np.zeros((n, j)), np.zeros((n, j), bool)
        for j0 in np.unique(first[first < j]):
            s = np.flatnonzero(first == j0)
            a, b, _, c = plane_hits(rng, to_local(vtx[s]), to_local(mom[s]), q[s], mass[s],
                                    float(self.cfg["field_T"]), zc[j0:], x_x0)
            lp[s, j0:], phase[s, j0:], ok[s, j0:] = a, b, c
        return lp, phase, ok, np.arange(j)[None, :] < first[:, None]

    def simulate(self, rng: np.random.Generator, n: int, start: int) -> pa.Table:
        c = self.cfg
        mat = material(c["material"])
        pdgs, masses, charges = gun.species_table(c["species"])
        sp = gun.choose(rng, n, c["species_weights"], len(pdgs))
        lo, hi = c["momentum"]
        p = gun.uniform(rng, lo, hi, n) if c["momentum_spectrum"] == "uniform" else gun.log_uniform(rng, lo, hi, n)
        d = gun.directions(rng, n, c["theta"], c["phi"])
        mom = d * p[:, None]
        vtx = gun.vertices(rng, n, c["vertex_box"])
        ev = np.arange(n)
        truth = ParticleList(n)
        pid = truth.add(ev, pdgs[sp], charges[sp], mom, vtx)
        mass = masses[sp]

        ext = np.asarray(self.extent)
        pw = float(c["pad_width"])
        zc = ext[2, 0] + (np.arange(int(c["pad_cols"])) + 0.5) * pw
        x_x0 = pw / (mat.x0_cm * 10.0) if c["multiple_scattering"] else 0.0
        lp, phase, ok, behind = self._columns(rng, vtx, mom, charges[sp].astype(np.float64), mass, zc, x_x0)
        g = np.stack([lp[..., 2], -lp[..., 1], lp[..., 0]], axis=-1)        # back to detector frame
        ok &= (np.abs(g[..., 0]) <= ext[0, 1]) & (np.abs(g[..., 1]) <= ext[1, 1])
        ok = np.logical_and.accumulate(ok | behind, axis=1) & ~behind  # a track that leaves stops
        trk, col = np.nonzero(ok)                                   # ordered by event, then column
        pos = g[trk, col]
        # Direction at the crossing: transverse phase in the helix frame, then detector frame.
        pt_l = np.hypot(mom[:, 2], mom[:, 1])[trk]
        ph = phase[trk, col]
        mo = from_local(np.stack([pt_l * np.cos(ph), pt_l * np.sin(ph), mom[trk, 0]], axis=1))
        keep = rng.random(trk.size) < float(c["efficiency"])
        trk, col, pos, mo = trk[keep], col[keep], pos[keep], mo[keep]
        pabs = np.linalg.norm(mo, axis=1)
        row = np.clip(np.floor((pos[:, 1] - ext[1, 0]) / c["pad_height"]), 0, c["pad_rows"] - 1)
        x = pos[:, 0] + rng.standard_normal(trk.size) * float(c["sigma_x"])
        y = pos[:, 1] + rng.standard_normal(trk.size) * float(c["sigma_y"])
        drift = ext[0, 1] - np.abs(pos[:, 0])                        # to the anode at |x| = L
        m = mass[trk]
        kin = np.sqrt((pabs * 1e3) ** 2 + m**2) - m
        dedx = np.zeros(trk.size)
        for mm in np.unique(m):
            s = m == mm
            dedx[s] = bethe_bloch(kin[s], float(mm), mat)
        seg_cm = np.minimum(pw / np.maximum(np.abs(mo[:, 2]) / pabs, 0.1), 10 * pw) / 10.0
        charge = dedx * seg_cm * landau_factor(rng, trk.size, float(c["landau_shape"]))
        hits = {
            "x": x.astype(np.float32), "y": y.astype(np.float32), "z": zc[col].astype(np.float32),
            "t": (drift / float(c["drift_velocity"])).astype(np.float32),
            "charge": charge.astype(np.float32), "pad_row": row.astype(np.int32),
            "pad_col": col.astype(np.int32), "track_id": pid[trk], "pdg": pdgs[sp][trk],
        }
        counts = np.bincount(trk, minlength=n)                       # one track per event, ordered by column
        pcounts, pcols = truth.columns(trk, hits["track_id"])
        events = {"event_id": np.arange(start, start + n, dtype=np.int64), "label": sp.astype(np.int32),
                  "n_tracks": np.ones(n, np.int32), **track_targets(mom, charges[sp], vtx, mass)}
        return table_from_flat(counts, hits, events, pcounts, pcols)


SOURCES.register("sim-pad-tpc", kind="simulator", detector="pad-tpc")(make_factory(PadTPC))
