"""Toy source and toy model for the training tests (importable as ``hg_train_toy``).

The toy events are learnable by a tiny network:
- ``label`` = event_id % 2 and the charge scale depends on it (classification);
- ``px, py, pz`` = mean hit position of the tracks / 50 (regression);
- ``semantic`` = 0 for tracks with x > 0, 1 for x < 0, 2 for noise (segmentation);
- tracks are straight lines of 8 hits from the origin, noise hits are uniform.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from hepgraph.events import table_from_events, validate_table
from hepgraph.sources.base import Source, SourceInfo


def toy_event(event_id: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng([seed, event_id])
    label = event_id % 2
    n_tracks = int(rng.integers(1, 4))
    xs, ys, zs, tids, sem = [], [], [], [], []
    for k in range(n_tracks):
        phi = rng.uniform(-np.pi, np.pi)
        tz = rng.uniform(-1, 1)
        r = np.linspace(10, 80, 8)
        xs.append(r * np.cos(phi)); ys.append(r * np.sin(phi)); zs.append(r * tz)
        tids.append(np.full(8, k + 1)); sem.append(np.full(8, 0 if np.cos(phi) > 0 else 1))
    nn_ = 4
    xs.append(rng.uniform(-80, 80, nn_)); ys.append(rng.uniform(-80, 80, nn_)); zs.append(rng.uniform(-80, 80, nn_))
    tids.append(np.full(nn_, -1)); sem.append(np.full(nn_, 2))
    x, y, z = (np.concatenate(a).astype(np.float32) for a in (xs, ys, zs))
    tid = np.concatenate(tids).astype(np.int64)
    n = len(x)
    charge = (rng.uniform(0.5, 1.0, n) * (0.5 + 1.5 * label)).astype(np.float32)
    trk = tid != -1
    return {
        "event_id": event_id, "x": x, "y": y, "z": z, "charge": charge,
        "hit_id": np.arange(n, dtype=np.int64) + 1000, "track_id": tid,
        "semantic": np.concatenate(sem).astype(np.int8),
        "particle_id": np.arange(1, n_tracks + 1, dtype=np.int64),
        "particle_nhits": np.full(n_tracks, 8, np.int32),
        "label": label, "n_tracks": n_tracks,
        "px": float(x[trk].mean() / 50), "py": float(y[trk].mean() / 50), "pz": float(z[trk].mean() / 50),
    }


class ToySource(Source):
    name = "toy"

    def __init__(self, n_events: int = 64, seed: int = 0, events_per_shard: int = 32) -> None:
        self.n_events, self.seed, self.per = n_events, seed, events_per_shard

    def config(self) -> dict[str, Any]:
        return {"n_events": self.n_events, "seed": self.seed}

    def info(self) -> SourceInfo:
        return SourceInfo(label_names=["low", "high"], semantic_names=["right", "left", "noise"],
                          default_task="classification", extra={"extent": [[-80, 80]] * 3})

    def plan(self, max_events: int | None = None) -> list[Any]:
        n = min(self.n_events, max_events or self.n_events)
        return [(s, min(n, s + self.per)) for s in range(0, n, self.per)]

    def read(self, task: Any) -> Iterator[Any]:
        lo, hi = task
        yield validate_table(table_from_events([toy_event(i, self.seed) for i in range(lo, hi)]))


def build_toy(out: Any, n_events: int = 64, seed: int = 0) -> Any:
    from hepgraph.store import build_dataset

    return build_dataset(ToySource(n_events, seed), out, seed=seed)


def knn_edges(pos: torch.Tensor, ptr: torch.Tensor, k: int) -> torch.Tensor:
    """(2, E) edges to the k nearest hits within each event (brute force)."""
    out = []
    p = ptr.tolist()
    for e in range(len(p) - 1):
        lo, hi = p[e], p[e + 1]
        n = hi - lo
        if n < 2:
            continue
        d = torch.cdist(pos[lo:hi], pos[lo:hi])
        d.fill_diagonal_(float("inf"))
        kk = min(k, n - 1)
        nb = d.topk(kk, largest=False).indices
        src = torch.arange(n).repeat_interleave(kk)
        out.append(torch.stack([src, nb.reshape(-1)]) + lo)
    return torch.cat(out, 1) if out else torch.zeros(2, 0, dtype=torch.long)


class ToyModel(nn.Module):
    """Per-hit MLP on (feats, pos/100); mean pool for events, pair features for edges."""

    def __init__(self, in_channels: int, level: str, out_channels: int, hidden_channels: int = 16,
                 k: int = 4, delay: float = 0.0) -> None:
        super().__init__()
        self.level, self.k, self.delay = level, k, delay
        h = hidden_channels
        self.enc = nn.Sequential(nn.Linear(in_channels + 3, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU())
        self.head = nn.Linear(2 * h + 1 if level == "edge" else h, out_channels)

    def forward(self, batch: Any) -> dict[str, torch.Tensor]:
        if self.delay and self.training:
            time.sleep(self.delay)  # lets the resume test kill a run mid-epoch on fast machines
        h = self.enc(torch.cat([batch.feats, batch.pos / 100.0], 1))
        if self.level == "event":
            s = torch.zeros(batch.batch_size, h.shape[1], dtype=h.dtype).index_add(0, batch.batch, h)
            c = batch.counts.clamp(min=1).to(h.dtype)[:, None]
            return {"out": self.head(s / c)}
        if self.level == "hit":
            return {"out": self.head(h)}
        ei = batch.edge_index if batch.edge_index is not None else knn_edges(batch.pos, batch.ptr, self.k)
        d = (batch.pos[ei[0]] - batch.pos[ei[1]]).norm(dim=1, keepdim=True) / 100.0
        return {"out": self.head(torch.cat([h[ei[0]] * h[ei[1]], (h[ei[0]] - h[ei[1]]).abs(), d], 1)),
                "edge_index": ei}


def register() -> None:
    """Register :class:`ToyModel` as ``toy-model`` (the ``hepgraph.plugins`` entry point of
    the tests' fake plugin distribution, and called directly by the test conftest)."""
    from hepgraph.models.factory import register_model

    register_model("toy-model", family="mlp", representation="points", levels=("event", "hit", "edge"),
                   cls=ToyModel, override=True)(ToyModel)


def write_plugin_dist(site: Any) -> Any:
    """A fake installed distribution under ``site`` whose ``hepgraph.plugins`` entry point is
    :func:`register`; put ``site`` and this folder on PYTHONPATH to load it in a subprocess."""
    from pathlib import Path

    info = Path(site) / "hg_train_toy-0.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hg-train-toy\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[hepgraph.plugins]\ntoy = hg_train_toy:register\n")
    return Path(site)
