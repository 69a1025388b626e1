"""Truth particle bookkeeping for a block of events (ids, kinematics, vertices)."""

from __future__ import annotations

import numpy as np

from hepgraph.sources.simulate.gun import rank_in_group


def track_targets(mom: np.ndarray, q: np.ndarray, vtx: np.ndarray, mass_mev: np.ndarray,
                  field_axis: int = 0) -> dict[str, np.ndarray]:
    """Event targets of one-track events, float32.

    Args:
        mom: (n, 3) momenta (GeV/c); q: (n,) charges (e); vtx: (n, 3) start points (mm);
        mass_mev: (n,) masses (MeV); field_axis: the axis of the magnetic field (0 = x).

    Returns:
        ``px, py, pz, p, pt`` (GeV/c; ``pt`` transverse to z), ``theta``, ``phi`` (rad),
        ``vx, vy, vz`` (mm), ``p_perp`` (GeV/c, transverse to the field), ``q_p_perp``
        (q times it), ``sin_phi`` (``py / pt``, 0 for pt = 0) and ``energy`` (kinetic, GeV).
    """
    mom = np.asarray(mom, np.float64)
    p = np.linalg.norm(mom, axis=1)
    pt = np.hypot(mom[:, 0], mom[:, 1])
    p_perp = np.linalg.norm(np.delete(mom, field_axis, axis=1), axis=1)
    m = np.asarray(mass_mev, np.float64)
    out = {"px": mom[:, 0], "py": mom[:, 1], "pz": mom[:, 2], "p": p, "pt": pt,
           "theta": np.arccos(np.clip(mom[:, 2] / np.maximum(p, 1e-12), -1, 1)),
           "phi": np.arctan2(mom[:, 1], mom[:, 0]), "vx": vtx[:, 0], "vy": vtx[:, 1], "vz": vtx[:, 2],
           "p_perp": p_perp, "q_p_perp": np.asarray(q, np.float64) * p_perp,
           "sin_phi": np.divide(mom[:, 1], pt, out=np.zeros(len(p)), where=pt > 0),
           "energy": (np.sqrt((p * 1e3) ** 2 + m**2) - m) * 1e-3}
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


class ParticleList:
    """Accumulates truth particles of ``n_events`` events and hands out per-event ids.

    Ids are 0, 1, 2, ... within each event in creation order (deterministic).
    """

    def __init__(self, n_events: int) -> None:
        self.n_events = n_events
        self.next_id = np.zeros(n_events, dtype=np.int64)
        self._parts: list[dict[str, np.ndarray]] = []

    def add(
        self, event: np.ndarray, pdg: np.ndarray, charge: np.ndarray, mom_gev: np.ndarray,
        vertex_mm: np.ndarray,
    ) -> np.ndarray:
        """Register particles (rows need not be sorted); returns their ids (N,) int64.

        Shapes:
            - **event, pdg, charge:** (N,)  - **mom_gev, vertex_mm:** (N, 3)
        """
        event = np.asarray(event, dtype=np.int64)
        n = event.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        order = np.argsort(event, kind="stable")
        ids = np.empty(n, dtype=np.int64)
        ids[order] = self.next_id[event[order]] + rank_in_group(event[order])
        self.next_id += np.bincount(event, minlength=self.n_events)
        self._parts.append({
            "event": event, "id": ids, "pdg": np.asarray(pdg, dtype=np.int32),
            "q": np.asarray(charge, dtype=np.int32), "mom": np.asarray(mom_gev, dtype=np.float64),
            "vtx": np.asarray(vertex_mm, dtype=np.float64),
        })
        return ids

    def columns(self, hit_event: np.ndarray, hit_pid: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(particle counts per event, particle columns) sorted by (event, id).

        ``particle_nhits`` counts the hits whose ``track_id`` is the particle.
        """
        empty = {"event": np.zeros(0, np.int64), "id": np.zeros(0, np.int64), "pdg": np.zeros(0, np.int32),
                 "q": np.zeros(0, np.int32), "mom": np.zeros((0, 3)), "vtx": np.zeros((0, 3))}
        parts = [empty, *self._parts]                    # same columns and dtypes when empty
        cat = {k: np.concatenate([p[k] for p in parts]) for k in empty}
        order = np.lexsort((cat["id"], cat["event"]))
        cat = {k: v[order] for k, v in cat.items()}
        counts = np.bincount(cat["event"], minlength=self.n_events)
        # Hits per (event, id): ids are dense 0..n-1 per event, so index = offset + id.
        off = np.concatenate([[0], np.cumsum(counts)[:-1]])
        npart = cat["id"].shape[0]
        row = off[hit_event]
        row += hit_pid
        row[hit_pid < 0] = npart                          # noise: one extra bin, dropped
        nh = np.bincount(row, minlength=npart + 1)[:npart]
        cols = {
            "particle_id": cat["id"], "particle_pdg": cat["pdg"], "particle_q": cat["q"],
            "particle_px": cat["mom"][:, 0].astype(np.float32),
            "particle_py": cat["mom"][:, 1].astype(np.float32),
            "particle_pz": cat["mom"][:, 2].astype(np.float32),
            "particle_vx": cat["vtx"][:, 0].astype(np.float32),
            "particle_vy": cat["vtx"][:, 1].astype(np.float32),
            "particle_vz": cat["vtx"][:, 2].astype(np.float32),
            "particle_nhits": nh.astype(np.int32),
        }
        return counts, cols


def momentum_vectors(kinetic_mev: np.ndarray, mass_mev: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Momentum vectors (GeV) from kinetic energies (MeV), masses (MeV) and unit directions."""
    p = np.sqrt(np.maximum(kinetic_mev * (kinetic_mev + 2 * mass_mev), 0.0)) * 1e-3
    return direction * p[:, None]
