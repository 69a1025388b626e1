"""A deterministic toy source for store tests and benchmarks (not registered)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.events.table import table_from_flat
from hepgraph.sources.base import Source, SourceInfo


class ToySource(Source):
    """Random events: ~``mean_hits`` hits each, 1-4 particles, a label in 0..2.

    Event ``e`` is a pure function of ``(seed, e)``, so chunking and workers do not matter.
    """

    name = "toy"

    def __init__(self, n_events: int = 100, per_task: int = 25, mean_hits: int = 100, seed: int = 0,
                 chunk: int = 10, sleep: float = 0.0, nan_event: int | None = None) -> None:
        self.n_events, self.per_task, self.mean_hits = n_events, per_task, mean_hits
        self.seed, self.chunk, self.sleep, self.nan_event = seed, chunk, sleep, nan_event

    def config(self) -> dict[str, Any]:
        return {"n_events": self.n_events, "per_task": self.per_task, "mean_hits": self.mean_hits,
                "seed": self.seed}

    def info(self) -> SourceInfo:
        return SourceInfo(label_names=["a", "b", "c"], default_task="classification",
                          units={"charge": "MeV"}, extra={"extent": [[-1, 1], [-1, 1], [-1, 1]]})

    def plan(self, max_events: int | None = None) -> list[tuple[int, int]]:
        n = self.n_events if max_events is None else min(self.n_events, max_events)
        return [(a, min(a + self.per_task, n)) for a in range(0, n, self.per_task)]

    def read(self, task: tuple[int, int]) -> Iterator[pa.Table]:
        a, b = task
        for c in range(a, b, self.chunk):
            if self.sleep:
                time.sleep(self.sleep)
            yield table_of([self.event(e) for e in range(c, min(c + self.chunk, b))])

    def event(self, e: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, e])
        n = int(rng.poisson(self.mean_hits))
        npart = int(rng.integers(1, 5))
        pid = np.arange(1, npart + 1, dtype=np.int64) + 100 * e
        x = rng.normal(size=n).astype(np.float32)
        if self.nan_event == e and n:
            x[0] = np.nan
        return {
            "event_id": e, "label": int(rng.integers(0, 3)), "p": float(rng.uniform(0.1, 2.0)),
            "x": x, "y": rng.normal(size=n).astype(np.float32), "z": rng.normal(size=n).astype(np.float32),
            "charge": rng.exponential(size=n).astype(np.float32),
            "layer": rng.integers(0, 10, n).astype(np.int32),
            "track_id": np.where(rng.random(n) < 0.1, -1, rng.choice(pid, n)).astype(np.int64),
            "particle_id": pid, "particle_px": rng.normal(size=npart).astype(np.float32),
        }


def table_of(events: list[dict[str, Any]]) -> pa.Table:
    """Chunk from per-event dicts, vectorised (flat arrays + counts)."""
    from hepgraph.events.schema import kind_of

    counts = np.array([len(ev["x"]) for ev in events])
    pcounts = np.array([len(ev["particle_id"]) for ev in events])
    keys = list(events[0])
    hits = {k: np.concatenate([ev[k] for ev in events]) for k in keys if kind_of(k) == "hit"}
    parts = {k: np.concatenate([ev[k] for ev in events]) for k in keys if kind_of(k) == "particle"}
    evs = {k: np.array([ev[k] for ev in events]) for k in keys if kind_of(k) == "event"}
    return table_from_flat(counts, hits, evs, pcounts, parts)
