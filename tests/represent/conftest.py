from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.events import collate_events

# tiny tensors on a shared 2-core machine: more threads only spin (100x slower here)
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
