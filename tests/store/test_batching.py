"""EpochBatchSampler with a hits-per-batch budget (make_loader(max_hits=...))."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

from hepgraph.errors import ConfigError  # noqa: E402
from hepgraph.store.batching import EpochBatchSampler  # noqa: E402
from hepgraph.store.dataset import EventDataset  # noqa: E402
from hepgraph.store.loader import make_loader  # noqa: E402
from hepgraph.store.sampler import BlockShuffleSampler  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402

BUDGET = 1000


def _hits(n: int = 203, seed: int = 3) -> np.ndarray:
    """Hits per event: mostly 20-400, a few over the budget (1500-3000)."""
    rng = np.random.default_rng(seed)
    h = rng.integers(20, 400, n)
    h[rng.choice(n, 9, replace=False)] = rng.integers(1500, 3000, 9)
    return h.astype(np.int64)


def _blocks(n: int, size: int = 10) -> list[np.ndarray]:
    return [np.arange(a, min(a + size, n)) for a in range(0, n, size)]


def _sampler(hits, workers=0, seed=1, rank=0, world_size=1, drop_last=False, bs=8, budget=BUDGET):
    block = BlockShuffleSampler(_blocks(len(hits)), window=4, seed=seed, rank=rank, world_size=world_size,
                                drop_last=drop_last)
    return EpochBatchSampler(block, bs, drop_last, workers, max_hits=budget, hit_counts=hits)


def _check_budget(batches, hits, bs=8, budget=BUDGET):
    for b in batches:
        assert b == sorted(b) and 1 <= len(b) <= bs
        if len(b) > 1:
            assert hits[b].sum() <= budget
        if hits[b].max() > budget:
            assert len(b) == 1  # an oversize event is a batch alone


@pytest.mark.parametrize("workers", [0, 2])
def test_budget_each_event_once_and_exact_len(workers):
    hits = _hits()
    s = _sampler(hits, workers)
    for epoch in range(3):
        s.set_epoch(epoch)
        n = len(s)
        batches = list(s)
        assert n == len(batches) == len(s)
        _check_budget(batches, hits)
        assert sorted(sum(batches, [])) == list(range(len(hits)))
        assert sum(len(b) == 1 and hits[b[0]] > BUDGET for b in batches) == 9
    # without a budget the same sampler makes fewer, fuller batches
    plain = EpochBatchSampler(BlockShuffleSampler(_blocks(len(hits)), seed=1), 8, False, workers)
    assert len(list(plain)) == len(plain) < n


def test_budget_closes_batches_early_and_keeps_streams():
    hits = _hits()
    s = _sampler(hits, workers=2)
    batches = list(s)
    # worker-affine: while both streams last, batch k holds only worker k % 2's row groups
    owner: dict[int, set[int]] = {}
    for k, b in enumerate(batches):
        for i in b:
            owner.setdefault(i // 10, set()).add(k % 2)
    assert sum(len(v) > 1 for v in owner.values()) <= 2
    assert any(len(b) < 8 and len(b) > 1 for b in batches)  # closed by hits, not events


def test_deterministic():
    hits = _hits()
    a, b = _sampler(hits, 2, seed=4), _sampler(hits, 2, seed=4)
    for e in (0, 1):
        a.set_epoch(e)
        b.set_epoch(e)
        assert list(a) == list(b)
    a.set_epoch(0)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_drop_last_drops_only_an_incomplete_trailing_batch():
    hits = np.full(20, 100, dtype=np.int64)
    hits[19] = 5000                                       # the last event, over the budget
    s = EpochBatchSampler(BlockShuffleSampler([np.arange(20)], shuffle=False), 8, True,
                          max_hits=BUDGET, hit_counts=hits)
    assert list(s) == [list(range(8)), list(range(8, 16)), [16, 17, 18], [19]]   # never dropped
    hits[19] = 100
    s = EpochBatchSampler(BlockShuffleSampler([np.arange(20)], shuffle=False), 8, True,
                          max_hits=350, hit_counts=hits)
    # the budget closes every batch at 3 events: complete; only the 2-event tail is dropped
    assert list(s) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14], [15, 16, 17]]
    assert len(s) == 6
    no_budget = EpochBatchSampler(BlockShuffleSampler([np.arange(20)], shuffle=False), 8, True)
    assert len(no_budget) == len(list(no_budget)) == 2


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("drop_last", [False, True])
def test_ddp_ranks_yield_equal_counts(workers, drop_last):
    hits = _hits()
    hits[:40] = 1200            # rank shares differ in weight: the unequal counts must be evened
    for epoch in range(4):
        ranks = []
        for r in range(2):
            s = _sampler(hits, workers, seed=7, rank=r, world_size=2, drop_last=drop_last)
            s.set_epoch(epoch)
            ranks.append((s, list(s), s.sampler.rank_indices()))
        (s0, b0, i0), (s1, b1, i1) = ranks
        assert len(s0) == len(s1) == len(b0) == len(b1)
        for _, batches, idx in ranks:
            _check_budget(batches, hits)
            got = sorted(sum(batches, []))
            if drop_last:
                assert set(got) <= set(idx.tolist()) and len(got) == len(set(got))
            else:
                assert got == sorted(idx.tolist())       # every event of the rank, once
        if not drop_last:
            assert set(sum(b0 + b1, [])) == set(range(len(hits)))  # every event, on some rank


def test_ddp_equalize_restores_dropped_tail_when_only_lone_events_are_left():
    # rank 0: 4 oversize events -> 4 batches; rank 1: 4 small ones -> 1 incomplete batch, dropped
    hits = np.array([5000] * 4 + [10] * 4, dtype=np.int64)
    counts = []
    for r in range(2):
        block = BlockShuffleSampler([np.arange(8)], shuffle=False, rank=r, world_size=2, drop_last=True)
        s = EpochBatchSampler(block, 8, True, max_hits=BUDGET, hit_counts=hits)
        counts.append((len(s), list(s)))
    assert counts[0] == (4, [[0], [1], [2], [3]])
    assert counts[1] == (4, [[4], [5], [6], [7]])


def test_max_len_covers_every_epoch():
    hits = _hits()
    s = _sampler(hits, 2)
    s.set_epoch(1)
    lens = []
    for e in range(5):
        s.set_epoch(e)
        lens.append(len(s))
    s.set_epoch(1)
    assert s.max_len(range(5)) == max(lens) and s.epoch == 1 and len(s) == lens[1]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="max_hits `0`"):
        EpochBatchSampler(BlockShuffleSampler([np.arange(4)]), 2, False, max_hits=0, hit_counts=np.ones(4))
    with pytest.raises(ConfigError, match="hit_counts"):
        EpochBatchSampler(BlockShuffleSampler([np.arange(4)]), 2, False, max_hits=10)
    events = [ToySource().event(e) for e in range(4)]
    with pytest.raises(ConfigError, match="EventDataset"):
        make_loader(events, 2, max_hits=100)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    out = build_dataset(ToySource(n_events=60, per_task=30, mean_hits=100), tmp_path_factory.mktemp("b") / "ds",
                        row_group_events=8)
    return EventDataset(out)


def test_dataset_hit_counts_match_events_on_views(ds):
    full = ds.hit_counts()
    assert full.dtype == np.int64 and full.tolist() == [len(ds[i]["x"]) for i in range(len(ds))]
    train = ds.split("train")
    assert train.hit_counts().tolist() == [len(train[i]["x"]) for i in range(len(train))]
    assert ds.max_event_hits() == int(full.max())


@pytest.mark.parametrize("workers", [0, 2])
def test_make_loader_budget(ds, workers):
    budget = 310                               # ~3 events of ~100 hits; some exceed it alone
    loader = make_loader(ds.split("train"), 8, shuffle=True, num_workers=workers, seed=2, max_hits=budget)
    assert loader.sampler.max_hits == budget
    batches = list(loader)
    assert len(batches) == len(loader)
    for b in batches:
        assert b.batch_size == 1 or b.num_hits <= budget
    ids = sorted(sum((b.event_id.tolist() for b in batches), []))
    assert ids == sorted(ds.split("train").event_ids().tolist())


def test_make_loader_skips_a_budget_no_batch_can_reach(ds, monkeypatch):
    monkeypatch.setattr(EventDataset, "hit_counts", lambda self: pytest.fail("hit counts read"))
    loader = make_loader(ds, 4, max_hits=4 * ds.max_event_hits())
    assert loader.sampler.max_hits is None and len(list(loader)) == len(loader) == 15
