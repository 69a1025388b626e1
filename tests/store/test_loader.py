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
    loader = make_loader(ds, 16)
    ids = _check_batches(loader, ds)
    assert ids == list(range(70)) and len(loader) == 5
    assert len(make_loader(ds, 16, drop_last=True, shuffle=True, num_workers=2)) == 4


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
    assert torch.equal(b.feats[:, 0], b.pos[:, 0] * 2.0)
    assert b.event["label"].dtype == torch.int32


def test_ddp_ranks(ds):
    seen = []
    for r in range(2):
        seen += _check_batches(make_loader(ds, 8, shuffle=True, rank=r, world_size=2, drop_last=True), ds)
    assert len(seen) == len(set(seen)) == 64


def test_fast_path_equals_collate_events(ds):
    from hepgraph.events import collate_events
    from hepgraph.store.batching import collate_flat

    for idx, feats in (([3, 60, 0, 17, 9], None), ([69], [["x", 1.0, 2.0, 0.5], "layer"]), (list(range(40)), ["charge"])):
        a = collate_flat(ds.gather(idx), feats)
        b = collate_events([ds[i] for i in idx], feats)
        for name in ("pos", "feats", "ptr", "event_id", "particle_ptr"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and torch.equal(x, y), name
        assert a.batch_size == b.batch_size
        for group in ("hit", "event", "particle"):
            ga, gb = getattr(a, group), getattr(b, group)
            assert set(ga) == set(gb)
            for k in ga:
                assert ga[k].dtype == gb[k].dtype and torch.equal(ga[k], gb[k]), (group, k)


def test_pin_memory_thread_gets_whole_batches(ds, monkeypatch):
    """torch's pin-memory thread calls ``PackedBatch.pin_memory``, which hands back the
    (pinned) HitBatch, so the training loop receives batches with nothing left to do."""
    from torch.utils.data._utils.pin_memory import pin_memory

    from hepgraph.events import HitBatch
    from hepgraph.store.batching import collate_flat, pack_flat

    pinned = []
    monkeypatch.setattr(HitBatch, "pin_memory", lambda self: pinned.append(self) or self)
    idx = [5, 1, 33]
    out = pin_memory(pack_flat(ds.gather(idx)))          # what the pin thread does
    ref = collate_flat(ds.gather(idx))
    assert isinstance(out, HitBatch) and pinned == [out]
    assert torch.equal(out.pos, ref.pos) and torch.equal(out.ptr, ref.ptr)
    assert set(out.hit) == set(ref.hit) and all(torch.equal(out.hit[k], ref.hit[k]) for k in ref.hit)


def test_generic_dataset_path():
    events = [ToySource().event(e) for e in range(10)]
    batches = list(make_loader(events, 4))
    assert [b.batch_size for b in batches] == [4, 4, 2]
    assert torch.cat([b.event_id for b in batches]).tolist() == list(range(10))


def test_worker_affine_batches():
    from hepgraph.store.batching import EpochBatchSampler
    from hepgraph.store.sampler import BlockShuffleSampler

    blocks = [np.arange(i * 10, i * 10 + 10) for i in range(9)]
    s = EpochBatchSampler(BlockShuffleSampler(blocks, window=4, seed=2), 4, False, num_workers=2)
    batches = list(s)
    assert len(batches) == len(s)
    assert sorted(sum(batches, [])) == list(range(90))
    owner = {}
    for k, b in enumerate(batches):  # batch k is fetched by worker k % 2 while both streams last
        for i in b:
            owner.setdefault(i // 10, set()).add(k % 2)
    assert sum(len(v) > 1 for v in owner.values()) <= 1  # at most the block at a stream's tail


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux-only")
def test_worker_result_pipe_holds_a_whole_batch(ds, monkeypatch):
    """The workers' result pipe is widened so that a finished batch waits in it whole."""
    import fcntl

    from hepgraph.store import batching

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < batching.RESULT_PIPE_BYTES:
        pytest.skip("pipe-max-size below the requested size")
    seen = []
    widen = batching._widen_result_pipe
    monkeypatch.setattr(batching, "_widen_result_pipe", lambda inner: (widen(inner), seen.append(inner)))
    it = iter(make_loader(ds, 8, shuffle=True, num_workers=1))
    first = next(it)
    reader = seen[0]._worker_result_queue._reader
    assert fcntl.fcntl(reader.fileno(), 1032) >= batching.RESULT_PIPE_BYTES   # F_GETPIPE_SZ
    assert first.batch_size + sum(b.batch_size for b in it) == len(ds)
    widen(object())                                                          # no queue: no-op
