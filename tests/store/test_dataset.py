from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

import hepgraph  # noqa: E402
from hepgraph.errors import ConfigError, DataError  # noqa: E402
from hepgraph.store.dataset import EventDataset  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def ds_path(tmp_path_factory):
    return build_dataset(ToySource(n_events=90, per_task=40), tmp_path_factory.mktemp("d") / "ds",
                         row_group_events=16)


def test_random_access_matches_source(ds_path):
    ds = EventDataset(ds_path, cache_row_groups=2)
    src = ToySource()
    for i in np.random.default_rng(0).permutation(90)[:30]:
        np.testing.assert_array_equal(ds[int(i)]["x"], src.event(int(i))["x"])
        np.testing.assert_array_equal(ds[int(i)]["particle_id"], src.event(int(i))["particle_id"])
        assert len(ds._cache) <= 2
    assert ds[-1]["event_id"] == 89
    with pytest.raises(IndexError):
        ds[90]


def test_getitems_equals_getitem(ds_path):
    ds = EventDataset(ds_path)
    idx = [5, 80, 17, 5, -2]
    for a, b in zip(ds.__getitems__(idx), [ds[i] for i in idx]):
        assert a["event_id"] == b["event_id"]
        np.testing.assert_array_equal(a["charge"], b["charge"])


def test_scalar_dtypes_and_columns(ds_path):
    ds = EventDataset(ds_path, columns=["charge"])
    ev = ds[3]
    assert set(ev) == {"event_id", "x", "y", "z", "charge"}
    assert ev["label" if "label" in ev else "event_id"].dtype == np.int64
    full = EventDataset(ds_path)[3]
    assert full["label"].dtype == np.int32 and full["p"].dtype == np.float32
    with pytest.raises(ConfigError, match="nope"):
        EventDataset(ds_path, columns=["nope"])


def test_splits_partition_and_deterministic(ds_path):
    ds = EventDataset(ds_path)
    parts = {n: ds.split(n) for n in ("train", "val", "test")}
    ids = [set(p.event_ids().tolist()) for p in parts.values()]
    assert sum(len(s) for s in ids) == 90 and not (ids[0] & ids[1]) and not (ids[0] & ids[2])
    assert ids[0] == set(EventDataset(ds_path).split("train").event_ids().tolist())
    val = parts["val"]
    assert [val[i]["event_id"] for i in range(len(val))] == sorted(ids[1])
    counts = ds.manifest["splits"]["counts"]
    assert [len(p) for p in parts.values()] == [counts["train"], counts["val"], counts["test"]]
    with pytest.raises(ConfigError, match="validation"):
        ds.split("validation")


def test_blocks_cover_view(ds_path):
    ds = EventDataset(ds_path)
    assert np.array_equal(np.concatenate(ds.blocks()), np.arange(90))
    assert all(len(b) <= 16 for b in ds.blocks())
    tr = ds.split("train")
    assert np.array_equal(np.sort(np.concatenate(tr.blocks())), np.arange(len(tr)))


def test_pickle_drops_cache(ds_path):
    ds = EventDataset(ds_path)
    ds[0]
    ds2 = pickle.loads(pickle.dumps(ds))
    assert len(ds2._cache) == 0 and ds2[0]["event_id"] == 0


def test_not_a_dataset(tmp_path):
    with pytest.raises(DataError, match="not a hepgraph dataset"):
        hepgraph.open_dataset(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        hepgraph.open_dataset(tmp_path / "nope")


def test_verify_detects_corruption(tmp_path):
    out = build_dataset(ToySource(n_events=10, per_task=10), tmp_path / "ds")
    EventDataset(out, verify=True)
    shard = next(out.glob("shard-*.parquet"))
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256"):
        EventDataset(out, verify=True)


def test_gather_matches_getitem(ds_path):
    ds = EventDataset(ds_path, cache_row_groups=3)
    idx = [88, 3, 40, 3, 17]
    fb = ds.gather(idx)
    ptr = np.concatenate([[0], np.cumsum(fb.counts)])
    pptr = np.concatenate([[0], np.cumsum(fb.pcounts)])
    for k, i in enumerate(idx):
        ev = ds[i]
        np.testing.assert_array_equal(fb.hits["track_id"][ptr[k] : ptr[k + 1]], ev["track_id"])
        np.testing.assert_array_equal(fb.particles["particle_id"][pptr[k] : pptr[k + 1]], ev["particle_id"])
        assert fb.events["event_id"][k] == ev["event_id"]
    empty = ds.gather([])
    assert len(empty.counts) == 0 and empty.hits["x"].dtype == np.float32
