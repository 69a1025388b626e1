"""Shared, seeded fixtures (STYLE section 10). Keep small; no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture
def tiny_hits() -> list[dict[str, Any]]:
    """Two events of ~32 hits with truth, plus a trailing empty event."""
    rng = np.random.default_rng(0)
    events = []
    for e, n in enumerate((32, 29, 0)):
        pid = np.array([1, 2], dtype=np.int64) if n else np.zeros(0, np.int64)
        events.append({
            "event_id": e, "label": e % 2,
            "x": rng.normal(0, 100, n).astype(np.float32), "y": rng.normal(0, 100, n).astype(np.float32),
            "z": rng.normal(0, 100, n).astype(np.float32), "charge": rng.exponential(1, n).astype(np.float32),
            "layer": rng.integers(0, 8, n).astype(np.int32),
            "track_id": (rng.choice([-1, 1, 2], n) if n else np.zeros(0)).astype(np.int64),
            "particle_id": pid, "particle_px": np.ones(len(pid), np.float32),
        })
    return events


@pytest.fixture
def tiny_root_file(tmp_path: Path) -> Path:
    """A ROOT file (written by uproot) with a jagged TTree ``events``: 5 events.

    Branches: ``evt`` (int64), ``label`` (int32), ``hit_x/y/z`` (cm, jagged float32),
    ``hit_e`` (GeV, jagged float32), ``hit_trk`` (jagged int64), ``part_id`` (jagged int64),
    ``part_px`` (jagged float32).
    """
    import awkward as ak
    import uproot

    rng = np.random.default_rng(1)
    counts = np.array([12, 0, 7, 20, 3])
    n = int(counts.sum())
    pcounts = np.array([2, 0, 1, 3, 1])
    trk = np.concatenate([rng.integers(1, k + 1, c) if k else np.zeros(c, int) for c, k in zip(counts, pcounts)])

    def jag(flat: np.ndarray, c: np.ndarray = counts) -> ak.Array:
        return ak.unflatten(flat, c)

    path = tmp_path / "tiny.root"
    with uproot.recreate(path) as f:
        write_ttree(f, "events", {
            "evt": np.arange(100, 105, dtype=np.int64),
            "label": np.array([0, 1, 0, 1, 1], dtype=np.int32),
            "hit_x": jag(rng.normal(0, 10, n).astype(np.float32)),
            "hit_y": jag(rng.normal(0, 10, n).astype(np.float32)),
            "hit_z": jag(rng.normal(0, 10, n).astype(np.float32)),
            "hit_e": jag(rng.exponential(0.001, n).astype(np.float32)),
            "hit_trk": jag(trk.astype(np.int64)),
            "part_id": jag(np.concatenate([np.arange(1, k + 1) for k in pcounts]).astype(np.int64), pcounts),
            "part_px": jag(rng.normal(0, 1, int(pcounts.sum())).astype(np.float32), pcounts),
        })
    return path


def write_ttree(f: Any, name: str, data: dict[str, Any]) -> None:
    """Write a TTree (not an RNTuple, uproot's default for ``f[name] = ...``)."""
    import awkward as ak

    types = {k: (str(ak.type(v).content) if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
    f.mktree(name, types).extend(data)


# --- synthetic events shared by the model and representation tests ----------------------

# Tiny tensors: on a shared 2-core machine extra intra-op threads only spin (100x slower).
import torch  # noqa: E402

from hepgraph.events import collate_events  # noqa: E402

torch.set_num_threads(1)


def make_events(sizes, seed=0, scale=100.0, layers=None):
    rng = np.random.default_rng(seed)
    events = []
    for i, n in enumerate(sizes):
        ev = {
            "event_id": i,
            "x": (rng.normal(size=n) * scale).astype(np.float32),
            "y": (rng.normal(size=n) * scale).astype(np.float32),
            "z": (rng.normal(size=n) * scale).astype(np.float32),
            "charge": rng.uniform(0.1, 2.0, size=n).astype(np.float32),
            "label": i % 2,
        }
        if layers:
            ev["layer"] = rng.integers(0, layers, size=n).astype(np.int32)
        events.append(ev)
    return events


@pytest.fixture
def tiny_batch():
    return collate_events(make_events([40, 0, 25], seed=1), features=["charge"])


@pytest.fixture
def event_factory():
    return make_events
