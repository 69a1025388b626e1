"""``hepgraph generate``: events from a trained generator, written as a normal dataset.

The generator of a ``--task generate`` run draws one track per event for particles taken
either from another dataset (``like``: the particles of its events, in order, cycling
when more events are asked for; the generated dataset then pairs event by event with it)
or, by default, from the training particles stored in the checkpoint (drawn with
replacement). The events go through :func:`hepgraph.store.writer.build_dataset` like any
source's, so every command reads the result; the manifest records the run, the seed and
the detector the generator was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.sources.base import Source, SourceInfo

__all__ = ["GeneratedSource", "generate_dataset"]

#: Events per shard of a generated dataset.
BLOCK = 1000


@dataclass(frozen=True)
class Block:
    """One shard task: events ``start .. start + n - 1``."""

    index: int
    start: int
    n: int


class GeneratedSource(Source):
    """Events drawn from a loaded generator run (see the module docstring).

    Args:
        loaded: the run (:func:`hepgraph.runs.load.load_run`).
        events: number of events.
        like: dataset whose particles condition the events, or None.
        seed: random seed (conditions drawn and generator noise).
        batch_size: tracks generated at once.
        device: torch device of the model.
    """

    name = "generated"

    def __init__(self, loaded: Any, events: int, like: str | Path | None = None, seed: int = 0,
                 batch_size: int = 256, device: str = "cpu") -> None:
        from hepgraph.models.generative import TrackGenerator

        if not isinstance(loaded.model, TrackGenerator):
            raise ConfigError(f"run `{loaded.path}` holds a `{loaded.config.model.name}` model trained for task "
                              f"`{loaded.task.name}`; generating needs a run trained with {setting('task.name', 'generate')}")
        from hepgraph.sources.simulate.base import MAX_EVENTS

        if events < 1:
            raise DataError(f"{setting('events')} `{events}`: ask for at least one event")
        if not 0 <= seed < 2**63:
            raise ConfigError(f"{setting('seed')} `{seed}` must be in [0, 2^63)")
        if events > MAX_EVENTS:
            raise ConfigError(f"{setting('events')} `{events}` is more than one generated dataset holds "
                              f"({MAX_EVENTS:,}); generate several datasets with different seeds")
        self.loaded, self.events, self.seed = loaded, int(events), int(seed)
        self.batch_size, self.device = int(batch_size), device
        self.like = None if like is None else str(like)
        self._like_raw = self._like_conditions(like) if like is not None else None

    def _like_conditions(self, like: str | Path) -> np.ndarray:
        from hepgraph.models.generative.codec import PARTICLE_COLUMNS, RAW
        from hepgraph.store.dataset import EventDataset

        ds = EventDataset(like)
        missing = [c for c in PARTICLE_COLUMNS if c not in ds.manifest.get("columns", {})]
        if missing:
            raise DataError(f"{setting('like')} `{like}` has no particle column(s) {missing}; its particles condition "
                            "the generated tracks")
        sel = ds.select([c for c in (*PARTICLE_COLUMNS, "track_id", "x") if c in ds.manifest["columns"]])
        codec = self.loaded.model.codec
        rows = []
        for i in range(min(len(sel), self.events)):
            c = codec.condition(sel[i])
            rows.append(c if c is not None else np.full(len(RAW), np.nan))
        raw = np.asarray(rows, np.float64)
        if raw.size == 0 or not np.isfinite(raw).all(axis=1).any():
            raise DataError(f"{setting('like')} `{like}` holds no event with a particle that has hits")
        return raw

    def config(self) -> dict[str, Any]:
        return {"run": str(self.loaded.path), "model": self.loaded.config.model.name, "events": self.events,
                "like": self.like, "seed": self.seed}

    def info(self) -> SourceInfo:
        task = self.loaded.task
        extra = {**task.detector, "generator": {"run": str(self.loaded.path), "model": self.loaded.config.model.name,
                                                "like": self.like}}
        return SourceInfo(default_task="regression", units=dict(task.units), extra=extra,
                          default_features=task.default_features)

    def plan(self, max_events: int | None = None) -> list[Block]:
        n = self.events if max_events is None else min(self.events, max_events)
        return [Block(i, s, min(BLOCK, n - s)) for i, s in enumerate(range(0, n, BLOCK))]

    def conditions(self, block: Block) -> np.ndarray:
        """(n, 8) raw conditions of a block's events."""
        rng = np.random.default_rng([self.seed, block.index])
        if self._like_raw is not None:
            idx = (block.start + np.arange(block.n)) % len(self._like_raw)
            return self._like_raw[idx]
        pool = self.loaded.model.codec.pool
        if len(pool) == 0:
            raise DataError(f"the checkpoint stores no training particles; give {setting('like', 'DATASET')}")
        return pool[rng.integers(0, len(pool), block.n)]

    def read(self, task: Block) -> Iterator[pa.Table]:
        yield self.simulate(task)

    def simulate(self, block: Block) -> pa.Table:
        """The table of one block's events (also what the speed benchmark times)."""
        import torch

        from hepgraph.events import table_from_flat

        raw = self.conditions(block)
        ok = np.isfinite(raw).all(axis=1)
        seeds = np.random.default_rng([self.seed, block.index, 1]).integers(0, 2**31 - 1, block.n)
        model, codec = self.loaded.model, self.loaded.model.codec
        vals, slots, tracks = [], [], []
        with torch.no_grad():
            for s in range(0, block.n, self.batch_size):
                rows = np.flatnonzero(ok[s:s + self.batch_size]) + s
                if rows.size == 0:
                    continue
                v, sl, t = model.generate(raw[rows], seeds[rows], self.device)
                vals.append(v)
                slots.append(sl)
                tracks.append(rows[t])
        v = np.concatenate(vals) if vals else np.zeros((0, len(codec.values)))
        sl = np.concatenate(slots) if slots else np.zeros(0, np.int64)
        trk = np.concatenate(tracks) if tracks else np.zeros(0, np.int64)
        axis = "xyz".index(getattr(self.loaded.task, "field_axis", None) or "z")
        return table_from_flat(*_columns(codec, raw, ok, v, sl, trk, block, axis))


def _columns(codec: Any, raw: np.ndarray, ok: np.ndarray, v: np.ndarray, slot: np.ndarray, trk: np.ndarray,
             block: Block, field_axis: int) -> tuple[Any, ...]:
    """(counts, hits, events, particle counts, particle columns) of generated tracks; the event
    targets are the simulator's (:func:`hepgraph.sources.simulate.truth.track_targets`)."""
    from hepgraph.models.generative.codec import mass_gev
    from hepgraph.sources.simulate.truth import track_targets

    n = block.n
    f4 = np.float32
    counts = np.bincount(trk, minlength=n)
    pid = np.arange(n, dtype=np.int64) + block.start
    hits: dict[str, np.ndarray] = {c: v[:, i].astype(f4) for i, c in enumerate(codec.values)}
    for c in ("x", "y", "z"):
        hits.setdefault(c, np.zeros(len(trk), f4))
    if codec.index not in ("order", "auto"):
        hits[codec.index] = slot.astype(np.int32)
    pdg = np.nan_to_num(raw[:, 4]).astype(np.int32)
    hits["track_id"] = pid[trk]
    hits["pdg"] = pdg[trk]
    r = np.nan_to_num(raw)
    pcols = {"particle_id": pid[ok], "particle_pdg": pdg[ok], "particle_q": r[ok, 3].astype(np.int32),
             "particle_px": r[ok, 0].astype(f4), "particle_py": r[ok, 1].astype(f4),
             "particle_pz": r[ok, 2].astype(f4), "particle_vx": r[ok, 5].astype(f4),
             "particle_vy": r[ok, 6].astype(f4), "particle_vz": r[ok, 7].astype(f4),
             "particle_nhits": counts[ok].astype(np.int32)}
    codes, inverse = np.unique(pdg, return_inverse=True)
    mass_mev = np.array([mass_gev(c) * 1e3 for c in codes])[inverse]
    events = {"event_id": pid, "n_tracks": (counts > 0).astype(np.int32),
              **track_targets(r[:, :3], r[:, 3], r[:, 5:8], mass_mev, field_axis)}
    return counts, hits, events, ok.astype(np.int64), pcols


def generate_dataset(run: str | Path, out: str | Path, events: int, *, like: str | Path | None = None,
                     seed: int = 0, batch_size: int = 256, device: str = "cpu", overwrite: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``events`` generated events of a ``--task generate`` run as a dataset.

    Args:
        run: run directory or checkpoint.
        out: dataset directory to create (atomically).
        events: number of events.
        like: dataset whose particles condition the events (event by event), else the
            training particles stored in the checkpoint.
        seed: random seed.
        batch_size: tracks generated at once.
        device: ``cpu`` or ``cuda``.
        overwrite: replace an existing ``out``.
        progress: called with ``(events, hits)`` per written chunk.

    Returns:
        The dataset directory.

    Raises:
        ConfigError: not a generator run, ``out`` exists without ``overwrite``.
        DataError: a ``like`` dataset without particles.
    """
    from hepgraph.runs.load import load_run
    from hepgraph.store.writer import build_dataset

    out = Path(out)
    if out.exists() and not overwrite:
        raise ConfigError(f"output directory `{out}` already exists; pass {setting('overwrite', True)} to replace it")
    source = GeneratedSource(load_run(run, device), events, like, seed, batch_size, device)
    return build_dataset(source, out, seed=seed, overwrite=overwrite, progress=progress, workers=0)
