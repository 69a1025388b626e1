"""``sim-geiger-grid``: a planar tracker of Geiger cells on both sides of a source foil (SuperNEMO style).

The source foil is the plane x = 0. On each side, ``layers`` planes of drift cells
(``columns`` cells of ``cell_size`` mm along y, wires along z) start at
``foil_gap`` mm. Each event emits 0..``max_tracks`` electrons (uniform; kinetic energy in
``kinetic`` MeV, isotropic directions) from one point of the foil. Tracks are straight
in zero field or helices in a weak field along z (``field_T``), with Highland kicks per
layer, applied at the layer's wire plane. A track fires every cell it crosses in each
layer (one, or a row of them for a track steep in y), each with efficiency
``efficiency``; a hit is at the wire (cell centre in x, y), with the distance of closest
approach of the track to the wire (``drift_radius``, smeared by ``sigma_r``): the track is
straight on each side of the wire plane, with the directions before and after the
plane's scattering kick, so drift circles are tangent to the scattered track. The
longitudinal position z (plasma propagation, smeared by ``sigma_z``) is the track's z at
that closest approach. Noise cells fire with probability ``noise_rate`` per cell and event.

Event label: ``n_tracks`` = number of electrons that fired at least ``min_hits`` cells (track
counting); class names "0".."max_tracks". A cell crossed by two tracks fires once and is
stored once, with the first track's ``track_id``, but counts for both tracks here: which
track the stored hit names is arbitrary (tracks leaving a common vertex often share their
first cell), so ``particle_nhits`` (stored hits) can be below the cells a track fired.
Preset: ``configs/detectors/geiger-grid.yaml``.
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
from hepgraph.sources.simulate.material import ME_MEV
from hepgraph.sources.simulate.tracker import plane_hits
from hepgraph.sources.simulate.truth import ParticleList


def kinked_dca(dy: np.ndarray, s_in: np.ndarray, s_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (mm) from a wire to a track that crosses the wire's plane ``dy`` mm from it.

    The track is two straight pieces meeting at the crossing point (the scattering kick is
    at the plane): it comes in with slope ``s_in`` = dy/dx and leaves with ``s_out``. The
    distance to each piece is the perpendicular one, ``|dy| / sqrt(1 + s^2)``, when the foot
    of the perpendicular lies on that piece (on the incoming side for ``s_in dy < 0``, on
    the outgoing side for ``s_out dy > 0``), else the distance to the crossing point ``|dy|``.

    Returns:
        ``(dca, dx, incoming)``: the distance, the x offset (mm) from the crossing to the
        closest point (negative on the incoming piece), and whether that point is on the
        incoming piece.

    Shapes:
        - **dy, s_in, s_out:** (N,) -> three (N,)
    """
    a = np.abs(dy)
    on_in, on_out = s_in * dy < 0, s_out * dy > 0
    d_in = np.where(on_in, a / np.sqrt(1 + s_in**2), a)
    d_out = np.where(on_out, a / np.sqrt(1 + s_out**2), a)
    x_in = np.where(on_in, dy * s_in / (1 + s_in**2), 0.0)            # <= 0: behind the crossing
    x_out = np.where(on_out, dy * s_out / (1 + s_out**2), 0.0)
    use_in = d_in < d_out
    return np.where(use_in, d_in, d_out), np.where(use_in, x_in, x_out), use_in


class GeigerGrid(SimulatedSource):
    """Geiger-cell tracker simulator (see the module docstring)."""

    detector = "geiger-grid"

    def validate(self) -> None:
        c = self.cfg
        check_positive(c, "layers", "columns")
        check_positive(c, "cell_size", "half_height", integer=False)
        if not isinstance(c["max_tracks"], int) or c["max_tracks"] < 0:
            raise ConfigError(f"`max_tracks` must be an integer >= 0, got `{c['max_tracks']}`")
        check_range(c["kinetic"], "kinetic")
        for i, ax in enumerate("yz"):
            check_range(c["vertex_box"][i], f"vertex_box.{ax}", positive=False)

    @property
    def planes(self) -> np.ndarray:
        c = self.cfg
        return c["foil_gap"] + (np.arange(int(c["layers"])) + 0.5) * c["cell_size"]

    @property
    def extent(self) -> list[list[float]]:
        c = self.cfg
        xm = float(c["foil_gap"] + c["layers"] * c["cell_size"])
        ym = float(c["columns"] * c["cell_size"] / 2)
        return [[-xm, xm], [-ym, ym], [-float(c["half_height"]), float(c["half_height"])]]

    def info(self) -> SourceInfo:
        c = self.cfg
        ext = self.extent
        return SourceInfo(
            label_names=[str(i) for i in range(int(c["max_tracks"]) + 1)],
            default_task="track-count",
            default_features=[["x", 0.0, 1.0 / ext[0][1]], ["y", 0.0, 1.0 / ext[1][1]],
                              ["z", 0.0, 1.0 / ext[2][1]], ["drift_radius", 0.0, 2.0 / c["cell_size"]]],
            extra={
                "detector": "geiger-grid", "extent": ext, "field_T": float(c["field_T"]),
                "planes_x": [float(v) for v in np.r_[-self.planes[::-1], self.planes]],
                "layers_per_side": int(c["layers"]), "columns": int(c["columns"]),
                "cell_size": float(c["cell_size"]), "geometry": "box",
            },
        )

    def local_slopes(self, vtx: np.ndarray, mom: np.ndarray, q: np.ndarray, cpos: np.ndarray,
                     phase: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, ...]:
        """Slopes dy/dx and dz/dx of the scattered track before and after each plane.

        The slopes of the helix plus the change of the scattering displacement between the
        neighbouring planes (from the vertex, on the foil, before the first one; the last
        plane a track crosses keeps its incoming slopes). Without scattering they are the
        helix slopes.

        Shapes:
            - **cpos:** (T, J, 3) scattered crossings, **phase**, **ok:** (T, J) -> four (T, J):
              dy/dx in, dy/dx out, dz/dx in, dz/dx out
        """
        from hepgraph.sources.simulate.helix import plane_crossings

        ideal = plane_crossings(vtx, mom, q, float(self.cfg["field_T"]), self.planes)[0]
        xs = np.diff(np.r_[0.0, self.planes])
        ph = np.where(ok, phase, 0.0)
        cot = mom[:, 2] / np.maximum(np.hypot(mom[:, 0], mom[:, 1]), 1e-12)
        base = {1: np.tan(ph), 2: cot[:, None] / np.maximum(np.abs(np.cos(ph)), 1e-9)}   # d/dx of y, z
        nxt = np.concatenate([ok[:, 1:], np.zeros((ok.shape[0], 1), bool)], axis=1)
        out = []
        for axis in (1, 2):
            off = np.where(ok, cpos[..., axis] - ideal[..., axis], 0.0)                  # (T, J) mm
            d = np.diff(np.concatenate([np.zeros((off.shape[0], 1)), off], axis=1), axis=1) / xs
            s_in = base[axis] + d
            out += [s_in, np.where(nxt, base[axis] + np.concatenate([d[:, 1:], d[:, -1:]], axis=1), s_in)]
        return tuple(out)

    def simulate(self, rng: np.random.Generator, n: int, start: int) -> pa.Table:
        c = self.cfg
        cell, ncol, nlay = float(c["cell_size"]), int(c["columns"]), int(c["layers"])
        ntrk = rng.integers(0, int(c["max_tracks"]) + 1, n)
        ev = np.repeat(np.arange(n), ntrk)
        nt = ev.size
        kin = gun.uniform(rng, c["kinetic"][0], c["kinetic"][1], nt)
        p = np.sqrt(kin * (kin + 2 * ME_MEV)) * 1e-3                        # GeV
        d = gun.isotropic(rng, nt)
        vtx_e = np.zeros((n, 3))                                            # on the foil, x = 0
        vtx_e[:, 1] = gun.uniform(rng, c["vertex_box"][0][0], c["vertex_box"][0][1], n)
        vtx_e[:, 2] = gun.uniform(rng, c["vertex_box"][1][0], c["vertex_box"][1][1], n)
        vtx = vtx_e[ev]
        truth = ParticleList(n)
        pid = truth.add(ev, np.full(nt, 11), np.full(nt, -1), d * p[:, None], vtx)

        # Mirror the -x side onto +x (a reflection flips the sense of rotation: flip q).
        side = np.where(d[:, 0] < 0, -1.0, 1.0)
        mom_m = d * p[:, None]
        mom_m[:, 0] *= side
        q = -1.0 * side
        x_x0 = float(c["layer_x0"]) if c["multiple_scattering"] else 0.0
        cpos, phase, _, ok = plane_hits(rng, vtx, mom_m, q, np.full(nt, ME_MEV), float(c["field_T"]),
                                        self.planes, x_x0)
        ext = np.asarray(self.extent)
        ok &= (np.abs(cpos[..., 1]) < ext[1, 1]) & (np.abs(cpos[..., 2]) < ext[2, 1])
        ok = np.logical_and.accumulate(ok, axis=1)
        s_in, s_out, z_in, z_out = self.local_slopes(vtx, mom_m, q, cpos, phase, ok)
        trk, lay = np.nonzero(ok)
        pos = cpos[trk, lay]
        s_in, s_out, z_in, z_out = s_in[trk, lay], s_out[trk, lay], z_in[trk, lay], z_out[trk, lay]
        # Cells the track crosses in the layer's slab (|x - plane| < cell / 2): it comes in along
        # s_in and leaves along s_out (dy/dx in the x-y plane; they differ by the scattering
        # kick at the plane), so it spans y from y_in to y_out through the crossing y.
        y_in, y_out = pos[:, 1] - s_in * cell / 2, pos[:, 1] + s_out * cell / 2
        lo = np.minimum(np.minimum(y_in, y_out), pos[:, 1])
        hi = np.maximum(np.maximum(y_in, y_out), pos[:, 1])
        c_lo = np.clip(np.floor((lo - ext[1, 0]) / cell), 0, ncol - 1).astype(np.int64)
        c_hi = np.clip(np.floor((hi - ext[1, 0]) / cell), 0, ncol - 1).astype(np.int64)
        ncell = c_hi - c_lo + 1
        rep = np.repeat(np.arange(trk.size), ncell)
        h_col = c_lo[rep] + np.arange(rep.size) - np.repeat(np.cumsum(ncell) - ncell, ncell)
        keep = rng.random(rep.size) < float(c["efficiency"])
        rep, h_col = rep[keep], h_col[keep]
        h_trk, h_lay, h_pos = trk[rep], lay[rep], pos[rep]
        wy = ext[1, 0] + (h_col + 0.5) * cell
        dca, dx, incoming = kinked_dca(wy - h_pos[:, 1], s_in[rep], s_out[rep])
        drift = np.clip(dca + rng.standard_normal(dca.size) * float(c["sigma_r"]), 0.0, cell * 0.75)
        # z where the track passes closest to the wire, on the piece that passes closest
        z = (h_pos[:, 2] + dx * np.where(incoming, z_in[rep], z_out[rep])
             + rng.standard_normal(dca.size) * float(c["sigma_z"]))
        sgn = side[h_trk]
        layer = np.where(sgn > 0, nlay + h_lay, nlay - 1 - h_lay)        # 0..2*layers-1 from -x to +x

        # Noise cells.
        n_cells = 2 * nlay * ncol
        nn = rng.poisson(float(c["noise_rate"]) * n_cells, n)
        nev = np.repeat(np.arange(n), nn)
        cid = rng.integers(0, n_cells, nev.size)
        nlayer, ncolumn = cid // ncol, cid % ncol
        nx = np.where(nlayer >= nlay, self.planes[np.minimum(np.abs(nlayer - nlay), nlay - 1)],
                      -self.planes[np.minimum(nlay - 1 - nlayer, nlay - 1)])
        wx = self.planes[h_lay]
        hev = np.concatenate([ev[h_trk], nev])
        all_layer = np.concatenate([layer, nlayer]).astype(np.int32)
        all_col = np.concatenate([h_col, ncolumn]).astype(np.int32)
        tid = np.concatenate([pid[h_trk], np.full(nev.size, -1)]).astype(np.int64)
        # One hit per fired cell: a cell crossed by two tracks keeps the first.
        key = (hev * (2 * nlay) + all_layer) * ncol + all_col
        _, first = np.unique(key, return_index=True)                   # sorted by event, layer, column
        hits = {
            "x": np.concatenate([wx * sgn, nx]), "y": np.concatenate([wy, ext[1, 0] + (ncolumn + 0.5) * cell]),
            "z": np.concatenate([z, rng.uniform(ext[2, 0], ext[2, 1], nev.size)]),
            "drift_radius": np.concatenate([drift, rng.uniform(0, cell / 2, nev.size)]),
            "layer": all_layer, "wire": all_col, "track_id": tid,
            "pdg": np.where(tid >= 0, 11, 0).astype(np.int32),
        }
        hits = {k: (v[first].astype(np.float32) if v.dtype == np.float64 else v[first]) for k, v in hits.items()}
        hit_ev = hev[first]
        counts = np.bincount(hit_ev, minlength=n)
        pcounts, pcols = truth.columns(hit_ev, hits["track_id"])
        # Visible = fired >= min_hits cells, shared cells included: which track a shared cell's
        # stored hit names is arbitrary, and must not decide whether a track counts.
        visible = np.bincount(h_trk, minlength=nt) >= int(c["min_hits"])
        n_vis = np.bincount(ev[visible], minlength=n).astype(np.int32)
        events = {"event_id": np.arange(start, start + n, dtype=np.int64), "n_tracks": n_vis, "label": n_vis}
        return table_from_flat(counts, hits, events, pcounts, pcols)


SOURCES.register("sim-geiger-grid", kind="simulator", detector="geiger-grid")(make_factory(GeigerGrid))
