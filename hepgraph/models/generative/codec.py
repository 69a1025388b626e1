"""A track's clusters as a fixed-length sequence, and its particle as a condition vector.

A generative model of detector response learns p(clusters | particle). Here the clusters
of one track are laid out on the detector's natural sequence: one *slot* per pad row,
pad column or layer (the hit column ``index``; ``order`` = the hit's rank in the event),
each slot holding the generated ``values`` (``x, y, z, charge`` by default) and whether
the slot has a cluster. Values are standardised per slot with the training mean and
standard deviation (a coordinate the detector fixes per slot, such as the z of a pad
column, is not generated but copied); positive, long-tailed values (``charge``) are
generated as logarithms.

The condition of a track is its particle (the one with most hits in the event): momentum
(log p and direction), charge, mass (from the PDG id) and production vertex, standardised.

With a ``baseline`` (``linear`` or ``quadratic``, the default), each slot's values are first
predicted from the condition by least squares on polynomial features of it (fitted on the
training tracks, per slot and value), and the generator models the residual, standardised
by its spread: most of a track's position is a smooth function of its particle, which a
regression learns exactly, while the network learns the fluctuations (scattering, dE/dx).
``none`` standardises with the per-slot mean and spread only.

Everything learned from the data lives in :class:`TrackCodec` and travels in the model's
checkpoint (``extra_state``), so ``hepgraph generate`` needs the run alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgraph.errors import ConfigError, DataError

__all__ = ["TrackCodec", "PARTICLE_COLUMNS", "INDEX_COLUMNS", "condition_features", "mass_gev"]

#: Particle columns a condition is made of.
PARTICLE_COLUMNS = ("particle_id", "particle_pdg", "particle_q", "particle_px", "particle_py", "particle_pz",
                    "particle_vx", "particle_vy", "particle_vz")

#: Hit columns tried, in order, for the sequence slot when ``index`` is ``auto``.
INDEX_COLUMNS = ("pad_col", "pad_row", "layer", "wire")

#: Values generated as logarithms when all training values are positive.
LOG_VALUES = ("charge", "energy", "edep")

#: Raw condition columns (per track): px, py, pz (GeV), q (e), pdg, vx, vy, vz (mm).
RAW = ("px", "py", "pz", "q", "pdg", "vx", "vy", "vz")

#: Polynomial degree of each baseline.
BASELINES = {"none": 0, "linear": 1, "quadratic": 2}


def poly_features(f: np.ndarray, degree: int) -> np.ndarray:
    """(T, K) monomials of the features f (T, C) up to ``degree`` (0, 1 or 2), constant first.

    K = 1, 1 + C or 1 + C + C (C + 1) / 2.
    """
    f = np.asarray(f, np.float64)
    cols = [np.ones((f.shape[0], 1))]
    if degree >= 1:
        cols.append(f)
    if degree >= 2:
        i, j = np.triu_indices(f.shape[1])
        cols.append(f[:, i] * f[:, j])
    return np.concatenate(cols, axis=1)


@functools.lru_cache(maxsize=256)
def mass_gev(pdg: int) -> float:
    """Mass (GeV) of a PDG id (the ``particle`` package; 0 for an unknown id)."""
    from hepgraph.sources.simulate.material import species

    try:
        return species(str(int(pdg))).mass * 1e-3
    except ConfigError:
        return 0.0


def condition_features(raw: np.ndarray) -> np.ndarray:
    """(T, 9) features of raw conditions: log p, unit direction (3), charge, log mass, vertex (3).

    Shapes:
        - **raw:** (T, 8) in the order of :data:`RAW` -> (T, 9)
    """
    raw = np.asarray(raw, np.float64).reshape(-1, len(RAW))
    p = np.linalg.norm(raw[:, :3], axis=1)
    u = raw[:, :3] / np.maximum(p, 1e-12)[:, None]
    m = np.array([mass_gev(int(v)) for v in raw[:, 4]])
    return np.column_stack([np.log(np.maximum(p, 1e-6)), u, raw[:, 3], np.log(m + 1e-4), raw[:, 5:8]])


class TrackCodec:
    """Encode batches into (condition, sequence, mask) and decode generated sequences to hits.

    Args:
        index: hit column of the slot (``auto``: the first of :data:`INDEX_COLUMNS` in
            the data; ``order``: rank of the hit in its event).
        values: hit columns generated per slot (``x``, ``y``, ``z`` from the positions).
        baseline: ``none``, ``linear`` or ``quadratic`` regression of the values on the
            condition, per slot (see the module docstring).
    """

    def __init__(self, index: str = "auto", values: Sequence[str] = ("x", "y", "z", "charge"),
                 baseline: str = "quadratic") -> None:
        if not values:
            raise ConfigError("model.values is empty: name the hit columns to generate, e.g. [x, y, z, charge]")
        if baseline not in BASELINES:
            raise ConfigError(f"model.baseline `{baseline}` is not one of {', '.join(BASELINES)}")
        self.index, self.values, self.baseline = str(index), [str(v) for v in values], baseline
        self.length = 0
        self.log = np.zeros(len(self.values), bool)
        self.coef = np.zeros((0, len(self.values), 1))
        self.std = np.zeros((0, len(self.values)))
        self.fixed = np.zeros((0, len(self.values)), bool)
        self.cond_mean, self.cond_std = np.zeros(9), np.ones(9)
        self.pool = np.zeros((0, len(RAW)))

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or a checkpoint) has set the layout and statistics."""
        return self.length > 0

    @property
    def columns(self) -> tuple[str, ...]:
        """Dataset columns the codec reads (the slot candidates while ``auto``)."""
        idx = INDEX_COLUMNS if self.index == "auto" else (() if self.index == "order" else (self.index,))
        vals = tuple(v for v in self.values if v not in ("x", "y", "z"))
        return (*idx, *vals, "track_id", *PARTICLE_COLUMNS)

    # ---------------------------------------------------------------- fitting
    def fit(self, events: Sequence[Mapping[str, Any]], pool_size: int = 20000) -> dict[str, Any]:
        """Learn the slot layout, per-slot statistics and condition statistics from events.

        Raises:
            DataError: no event has a particle with hits, or a column is missing.
        """
        if self.index == "auto":
            have = set(events[0]) if events else set()
            self.index = next((c for c in INDEX_COLUMNS if c in have), "order")
        slots, vals, raws = [], [], []
        for ev in events:
            t = self.track(ev)
            if t is None:
                continue
            s, v, raw = t
            slots.append(s)
            vals.append(v)
            raws.append(raw)
        s, v = np.concatenate(slots) if slots else np.zeros(0, np.int64), np.concatenate(vals) if vals else None
        if not slots or s.size == 0:
            raise DataError("no training event has a particle with hits (particle_* and track_id columns); a "
                            "generator learns the clusters of particles: use a simulated or labelled dataset")
        raw = np.stack(raws)
        track = np.repeat(np.arange(len(slots)), [len(x) for x in slots])          # track of each hit
        self.length = int(s.max()) + 1
        self.log = np.array([n in LOG_VALUES and bool((v[:, i] > 0).all()) for i, n in enumerate(self.values)])
        v = self._forward_transform(v)
        feats = condition_features(raw)
        self.cond_mean, self.cond_std = feats.mean(0), np.maximum(feats.std(0), 1e-6)
        phi = poly_features(self.conditions(raw), BASELINES[self.baseline])[track]        # (H, K)
        self._fit_slots(s, v, phi)
        self.pool = raw[:pool_size]
        return {"tracks": int(raw.shape[0]), "slots": self.length, "index": self.index}

    def _fit_slots(self, s: np.ndarray, v: np.ndarray, phi: np.ndarray) -> None:
        """Per-slot regression coefficients (L, V, K), residual spreads (L, V) and fixed values."""
        nv, k = v.shape[1], phi.shape[1]
        gmean, gstd = v.mean(0), np.maximum(v.std(0), 1e-6)
        self.coef = np.zeros((self.length, nv, k))
        self.coef[:, :, 0] = gmean
        self.std = np.tile(gstd, (self.length, 1))
        self.fixed = np.zeros((self.length, nv), bool)
        order = np.argsort(s, kind="stable")
        bounds = np.searchsorted(s[order], np.arange(self.length + 1))
        ridge = np.diag(np.r_[0.0, np.full(k - 1, 1e-3)])
        for slot in range(self.length):
            rows = order[bounds[slot]:bounds[slot + 1]]
            if rows.size < 5:
                continue
            y, x = v[rows], phi[rows]
            spread = y.std(0)
            fixed = spread < 1e-6 * np.maximum(np.abs(gmean), 1.0)
            coef = np.zeros((k, nv))
            coef[0] = y.mean(0)
            if rows.size >= 3 * k and k > 1:
                coef = np.linalg.solve(x.T @ x + rows.size * ridge, x.T @ y)
                coef[:, fixed] = 0.0
                coef[0, fixed] = y.mean(0)[fixed]
            res = y - x @ coef
            self.coef[slot] = coef.T
            self.fixed[slot] = fixed
            self.std[slot] = np.where(fixed, 1.0, np.maximum(res.std(0), 1e-3 * gstd))

    def predict(self, cond: np.ndarray, slot: np.ndarray, track: np.ndarray) -> np.ndarray:
        """(H, V) baseline values (transformed units) of hits at ``slot`` of ``track``.

        Args:
            cond: (T, 9) standardised conditions of the tracks.
            slot: (H,) slot of each hit.
            track: (H,) row of ``cond`` of each hit.
        """
        phi = poly_features(cond, BASELINES[self.baseline])[track]                     # (H, K)
        return np.einsum("hvk,hk->hv", self.coef[slot], phi)

    def _forward_transform(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, np.float64).copy()
        v[:, self.log] = np.log(np.maximum(v[:, self.log], 1e-12))
        return v

    def main_particle(self, ev: Mapping[str, Any]) -> tuple[int, np.ndarray] | None:
        """Index of the event's particle with most hits and the mask of its hits (the first
        particle, without hits, when none has any; None without particles; without
        ``track_id`` every hit is the first particle's)."""
        if "particle_id" not in ev or len(np.asarray(ev["particle_id"])) == 0:
            return None
        pid = np.asarray(ev["particle_id"], np.int64)
        if "track_id" in ev:
            tid = np.asarray(ev["track_id"], np.int64)
        else:
            tid = np.full(len(np.asarray(ev["x"])), pid[0])
        counts = np.array([(tid == p).sum() for p in pid])
        k = int(np.argmax(counts))
        return k, tid == pid[k]

    def condition(self, ev: Mapping[str, Any]) -> np.ndarray | None:
        """(8,) raw condition of an event dict's main particle, or None."""
        m = self.main_particle(ev)
        return None if m is None else np.array([float(ev[f"particle_{c}"][m[0]]) for c in RAW])

    def track(self, ev: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(slots, values, raw condition) of an event dict's main particle, or None."""
        m = self.main_particle(ev)
        if m is None:
            return None
        k, sel = m
        slots = self._slots(ev, sel)
        v = np.column_stack([np.asarray(ev[c], np.float64)[sel] for c in self.values])
        raw = np.array([float(ev[f"particle_{c}"][k]) for c in RAW])
        return slots, v, raw

    def _slots(self, ev: Mapping[str, Any], sel: np.ndarray) -> np.ndarray:
        if self.index == "order":
            return np.arange(int(sel.sum()))
        if self.index not in ev:
            raise DataError(f"slot column `{self.index}` is not in the dataset; set model.index to a hit "
                            f"column ({', '.join(INDEX_COLUMNS)}) or `order`")
        s = np.asarray(ev[self.index], np.int64)[sel]
        if s.size and s.min() < 0:
            raise DataError(f"slot column `{self.index}` holds negative values")
        return s

    # ---------------------------------------------------------------- batches
    def encode(self, batch: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Condition, sequence and mask of a batch (one track per event: its main particle).

        Returns:
            ``cond`` (B, 9) standardised features, ``seq`` (B, V, L) standardised values
            (0 where no cluster), ``mask`` (B, L) bool, ``raw`` (B, 8) raw conditions (NaN
            for an event without a particle).
        """
        dev = batch.pos.device
        b, L, nv = batch.batch_size, self.length, len(self.values)
        ptr = batch.ptr.cpu().numpy()
        pptr = batch.particle_ptr.cpu().numpy() if batch.particle_ptr is not None else np.zeros(b + 1, np.int64)
        cols = {c: batch.pos[:, "xyz".index(c)] if c in "xyz" and len(c) == 1 else batch.hit.get(c)
                for c in self.values}
        missing = [c for c, v in cols.items() if v is None]
        if missing:
            raise DataError(f"the batch has no hit column(s) {missing} the generator was trained on")
        hits = {c: v.detach().cpu().numpy() for c, v in cols.items()}
        extra = {c: batch.hit[c].cpu().numpy() for c in ("track_id", self.index) if c in batch.hit}
        part = {c: batch.particle[c].cpu().numpy() for c in PARTICLE_COLUMNS if c in batch.particle}
        seq = np.zeros((b, nv, L), np.float32)
        mask = np.zeros((b, L), bool)
        raw = np.full((b, len(RAW)), np.nan)
        tracks = []
        for e in range(b):
            ev = {c: v[ptr[e]:ptr[e + 1]] for c, v in {**hits, **extra}.items()}
            ev.update({c: v[pptr[e]:pptr[e + 1]] for c, v in part.items()})
            t = self.track(ev)
            if t is None:
                continue
            s, v, raw[e] = t
            keep = s < L
            tracks.append((e, s[keep], self._forward_transform(v[keep])))
        cond = self.conditions(np.nan_to_num(raw))
        if tracks:  # one baseline prediction for all hits of the batch
            ev = np.concatenate([np.full(s.size, e) for e, s, _ in tracks])
            slot = np.concatenate([s for _, s, _ in tracks])
            val = np.concatenate([v for *_, v in tracks])
            seq[ev, :, slot] = (val - self.predict(cond, slot, ev)) / self.std[slot]
            mask[ev, slot] = True
        fixed = np.broadcast_to(self.fixed.T[None], seq.shape)
        seq[fixed] = 0.0
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dev)  # noqa: E731
        return to(cond), to(seq), to(mask), to(raw)

    def conditions(self, raw: np.ndarray) -> np.ndarray:
        """(T, 9) float32 standardised condition features of raw conditions (T, 8)."""
        return ((condition_features(raw) - self.cond_mean) / self.cond_std).astype(np.float32)

    def decode(self, seq: np.ndarray, present: np.ndarray, cond: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Generated sequences to hits.

        Args:
            seq: (B, V, L) standardised values.
            present: (B, L) bool, slots with a cluster.
            cond: (B, 9) standardised conditions (for the baseline).

        Returns:
            ``values`` (H, V) in physical units, ``slot`` (H,) and ``event`` (H,) of each
            hit, ordered by event then slot.
        """
        e, s = np.nonzero(present)
        pred = self.predict(cond, s, e)
        v = np.asarray(seq, np.float64)[e, :, s] * self.std[s] + pred
        v = np.where(self.fixed[s], pred, v)                            # copied, not generated
        v[:, self.log] = np.exp(v[:, self.log])
        return v, s, e

    # ---------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        """Checkpoint-safe state (tensors and strings only)."""
        f = lambda a: torch.as_tensor(np.asarray(a, np.float64))  # noqa: E731
        return {"index": self.index, "values": list(self.values), "length": int(self.length),
                "baseline": self.baseline, "coef": f(self.coef),
                "log": torch.as_tensor(self.log), "std": f(self.std),
                "fixed": torch.as_tensor(self.fixed), "cond_mean": f(self.cond_mean), "cond_std": f(self.cond_std),
                "pool": f(self.pool)}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.index, self.values, self.length = str(state["index"]), list(state["values"]), int(state["length"])
        self.log = state["log"].numpy().astype(bool)
        self.std = state["std"].numpy()
        if "coef" in state:
            self.baseline, self.coef = str(state["baseline"]), state["coef"].numpy()
        else:                                          # checkpoints before baselines: per-slot means
            self.baseline, self.coef = "none", state["mean"].numpy()[:, :, None]
        self.fixed = state["fixed"].numpy().astype(bool)
        self.cond_mean, self.cond_std = state["cond_mean"].numpy(), state["cond_std"].numpy()
        self.pool = state["pool"].numpy()
