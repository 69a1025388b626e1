"""Column selection: ``EventDataset.select`` and ``make_loader(columns=...)`` read and ship only
the columns asked for, with the same values as a loader over every column."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

from hepgraph.errors import ConfigError  # noqa: E402
from hepgraph.store.batching import BatchedView  # noqa: E402
from hepgraph.store.dataset import EventDataset  # noqa: E402
from hepgraph.store.loader import make_loader  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    out = build_dataset(ToySource(n_events=40, per_task=20), tmp_path_factory.mktemp("c") / "ds",
                        row_group_events=8)
    return EventDataset(out)


def test_select_reads_only_those_columns_and_keeps_the_view(ds):
    view = ds.split("train")
    sel = view.select(["label", "layer"])
    assert sel.columns == ["event_id", "label", "x", "y", "z", "layer"]
    assert len(sel) == len(view) and view.columns is None  # the original is untouched
    for k in (0, len(view) - 1):
        full, part = view[k], sel[k]
        assert set(part) == {"event_id", "label", "x", "y", "z", "layer"}
        for c in part:
            np.testing.assert_array_equal(part[c], full[c])
    assert set(ds.select(None)[0]) == set(ds[0])


def test_select_unknown_column(ds):
    with pytest.raises(ConfigError, match="column `nope` is not in dataset"):
        ds.select(["label", "nope"])


def test_loader_columns_same_values_fewer_columns(ds):
    feats = [["charge", 0.0, 2.0], "layer"]
    full = list(make_loader(ds, 8, features=feats))
    part = list(make_loader(ds, 8, features=feats, columns=["label", "track_id"]))
    assert len(full) == len(part) == 5
    for a, b in zip(full, part):
        assert set(b.hit) == {"track_id"} and set(b.event) == {"label"} and not b.particle
        for name in ("pos", "feats", "ptr", "event_id"):
            torch.testing.assert_close(getattr(b, name), getattr(a, name), rtol=0, atol=0)
        torch.testing.assert_close(b.hit["track_id"], a.hit["track_id"], rtol=0, atol=0)
        torch.testing.assert_close(b.event["label"], a.event["label"], rtol=0, atol=0)


def test_loader_columns_with_workers_and_default_features(ds):
    """Default features (``charge``) are read for the features only; a particle column ships."""
    ids = []
    for b in make_loader(ds, 8, shuffle=True, num_workers=2, columns=["particle_id"]):
        assert not b.hit and not b.event and set(b.particle) == {"particle_id"}
        for k, eid in enumerate(b.event_id.tolist()):
            ev = ToySource().event(eid)
            a, z = int(b.ptr[k]), int(b.ptr[k + 1])
            np.testing.assert_array_equal(b.feats[a:z, 0].numpy(), ev["charge"])
            p0, p1 = int(b.particle_ptr[k]), int(b.particle_ptr[k + 1])
            np.testing.assert_array_equal(b.particle["particle_id"][p0:p1].numpy(), ev["particle_id"])
        ids += b.event_id.tolist()
    assert sorted(ids) == list(range(40))


def test_fewer_columns_make_smaller_batches(ds):
    idx = list(range(16))
    full = len(pickle.dumps(BatchedView(ds)[idx]))
    sel = ds.select(["label", "charge"])
    part = len(pickle.dumps(BatchedView(sel, keep=["label"])[idx]))
    assert part < 0.6 * full
