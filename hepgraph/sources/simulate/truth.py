"""Truth particle bookkeeping for a block of events (ids, kinematics, vertices)."""

from __future__ import annotations

import numpy as np

from hepgraph.sources.simulate.gun import rank_in_group


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
