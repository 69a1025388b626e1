"""Images and voxel grids cover the detector the data come from, not a built-in default: a
source without a recorded extent gets the range of its own hits (stray hits excluded)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from hepgraph.events import table_from_events, validate_table
from hepgraph.runs.build import dataset_extent, model_kwargs
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.store import build_dataset


class TinyDetector(Source):
    """A 1 cm pixel detector (hits in [-5, 5] mm) with one stray hit 100 m away."""

    name = "tiny"

    def config(self) -> dict[str, Any]:
        return {}

    def info(self) -> SourceInfo:
        return SourceInfo(default_task="classification")

    def plan(self, max_events: int | None = None) -> list[Any]:
        return [0, 1]

    def read(self, task: Any) -> Iterator[Any]:
        rng = np.random.default_rng(task)
        events = []
        for e in range(50):
            x, y, z = (rng.uniform(-5, 5, 200).astype(np.float32) for _ in range(3))
            if task == 0 and e == 0:
                x[0] = 1e5
            events.append({"event_id": 50 * task + e, "x": x, "y": y, "z": z,
                           "charge": np.ones(200, np.float32), "label": e % 2})
        yield validate_table(table_from_events(events))


def test_extent_comes_from_the_hits(tmp_path):
    import hepgraph

    ds = build_dataset(TinyDetector(), tmp_path / "ds")
    m = hepgraph.open_dataset(ds).manifest
    assert m["stats"]["hit_bounds"][0][1] == 1e5
    ext = np.asarray(dataset_extent(m))
    assert np.all(ext[:, 0] > -7) and np.all(ext[:, 0] < -5) and np.all(ext[:, 1] > 5) and np.all(ext[:, 1] < 7)
    kw = model_kwargs("dense-resnet18", {}, m)
    assert np.allclose(kw["extent"], ext)
    recorded = dict(m, extra={"extent": [[-50, 50]] * 3})
    assert dataset_extent(recorded) == [[-50, 50]] * 3  # what the source knows wins
