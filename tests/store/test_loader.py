from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

from hepgraph.events import HitBatch  # noqa: E402
from hepgraph.store.dataset import EventDataset  # noqa: E402
from hepgraph.store.loader import make_loader  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    out = build_dataset(ToySource(n_events=70, per_task=30), tmp_path_factory.mktemp("l") / "ds",
                        row_group_events=8)
    return EventDataset(out)


def _check_batches(batches, ds, expect_ids=None):
    ids = []
    src = ToySource()
    for b in batches:
        assert isinstance(b, HitBatch)
        for k, eid in enumerate(b.event_id.tolist()):
            ev = src.event(eid)
            a, z = int(b.ptr[k]), int(b.ptr[k + 1])
            np.testing.assert_array_equal(b.pos[a:z, 0].numpy(), ev["x"])
            np.testing.assert_array_equal(b.feats[a:z, 0].numpy(), ev["charge"])
            assert int(b.event["label"][k]) == ev["label"]
        ids += b.event_id.tolist()
    return ids


def test_sequential(ds):
    ids = _check_batches(make_loader(ds, 16), ds)
    assert ids == list(range(70))


def test_shuffled_with_workers(ds):
    loader = make_loader(ds, 16, shuffle=True, num_workers=2, seed=5)
    ids = _check_batches(loader, ds)
    assert sorted(ids) == list(range(70)) and ids != list(range(70))
    loader.sampler.set_epoch(1)
    ids2 = _check_batches(loader, ds)
    assert sorted(ids2) == list(range(70)) and ids2 != ids


def test_features_and_split(ds):
    tr = ds.split("train")
    b = next(iter(make_loader(tr, 4, features=[["x", 0.0, 2.0], "layer"], drop_last=True)))
    assert b.feats.shape[1] == 2 and b.batch_size == 4
    torch.testing.assert_close(b.feats[:, 0], b.pos[:, 0] * 2.0)
    assert b.event["label"].dtype == torch.int32


def test_ddp_ranks(ds):
    seen = []
    for r in range(2):
        seen += _check_batches(make_loader(ds, 8, shuffle=True, rank=r, world_size=2, drop_last=True), ds)
    assert len(seen) == len(set(seen)) == 64
