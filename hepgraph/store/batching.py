"""Fast batches for the loader: ``EventDataset.gather`` -> ``HitBatch`` without per-event work.

``collate_flat`` builds exactly what :func:`hepgraph.events.collate_events` builds from the
same events (tested), but from flat arrays, so a batch costs a few numpy operations per
column instead of a Python loop over events.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from hepgraph.errors import ConfigError
from hepgraph.events.features import DEFAULT_FEATURES, FeatureSpec
from hepgraph.events.hitbatch import POS_COLUMNS, HitBatch
from hepgraph.store.dataset import EventDataset
from hepgraph.store.rowgroups import FlatBatch


class PackedBatch(NamedTuple):
    """A batch as numpy arrays already in :class:`HitBatch` layout (built in a loader worker).

    Turning it into a ``HitBatch`` is only ``torch.from_numpy`` per array, so the consuming
    process (which drives the GPU) does no per-batch numpy work.
    """

    pos: np.ndarray                    # (N, 3) float32, mm
    feats: np.ndarray                  # (N, F) float32
    ptr: np.ndarray                    # (B + 1,) int64
    event_id: np.ndarray               # (B,) int64
    hit: dict[str, np.ndarray]         # each (N,)
    event: dict[str, np.ndarray]       # each (B,)
    particle: dict[str, np.ndarray]    # each (P,)
    particle_ptr: np.ndarray | None    # (B + 1,) int64

    def pin_memory(self) -> HitBatch:
        """The pinned :class:`HitBatch`: called by the DataLoader's pin-memory thread, so
        wrapping and pinning happen beside the training loop, not in it."""
        return unpack(self).pin_memory()


def pack_flat(flat: FlatBatch, features: FeatureSpec | Sequence[Any] | None = None,
              keep: Collection[str] | None = None) -> PackedBatch:
    """Stack positions, compute features and make every column contiguous (numpy only).

    ``keep``: the hit/event/particle columns the batch carries besides positions, features
    and ``event_id`` (None = all read); columns read only to compute features are dropped.
    """
    spec = FeatureSpec.parse(features) if features is not None else None
    b = len(flat.counts)
    ptr = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(flat.counts, out=ptr[1:])
    hit = flat.hits
    n = int(ptr[-1])
    pos = np.empty((n, 3), dtype=np.float32)
    for k, c in enumerate(POS_COLUMNS):
        pos[:, k] = hit[c] if c in hit else 0.0
    if spec is None:
        spec = DEFAULT_FEATURES if "charge" in hit else None
    feats = spec.apply(hit) if spec is not None else np.ones((n, 1), np.float32)
    evt = dict(flat.events)
    pptr = None
    if flat.pcounts is not None:
        pptr = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(flat.pcounts, out=pptr[1:])
    c = np.ascontiguousarray
    event_id = evt.pop("event_id", np.arange(b)).astype(np.int64)
    if keep is not None:
        hit, evt = _only(hit, keep), _only(evt, keep)
    return PackedBatch(
        pos=pos, feats=c(feats), ptr=ptr, event_id=event_id,
        hit={k: c(v) for k, v in hit.items() if k not in POS_COLUMNS},
        event={k: c(v) for k, v in evt.items() if v.dtype != object},
        particle={k: c(v) for k, v in (flat.particles if keep is None else _only(flat.particles, keep)).items()},
        particle_ptr=pptr,
    )


def _only(columns: dict[str, np.ndarray], keep: Collection[str]) -> dict[str, np.ndarray]:
    return {k: v for k, v in columns.items() if k in keep}


def unpack(packed: PackedBatch) -> HitBatch:
    """The :class:`HitBatch` sharing the memory of a :class:`PackedBatch`."""
    t = torch.from_numpy
    return HitBatch(
        pos=t(packed.pos), feats=t(packed.feats), ptr=t(packed.ptr),
        batch_size=len(packed.ptr) - 1, event_id=t(packed.event_id),
        hit={k: t(v) for k, v in packed.hit.items()},
        event={k: t(v) for k, v in packed.event.items()},
        particle={k: t(v) for k, v in packed.particle.items()},
        particle_ptr=None if packed.particle_ptr is None else t(packed.particle_ptr),
    )


def collate_flat(flat: FlatBatch, features: FeatureSpec | Sequence[Any] | None = None) -> HitBatch:
    """A :class:`HitBatch` from a :class:`FlatBatch` (same result as ``collate_events``)."""
    return unpack(pack_flat(flat, features))


class BatchedView(Dataset):
    """Wraps an :class:`EventDataset`: ``view[list_of_indices]`` is one :class:`PackedBatch`."""

    def __init__(self, dataset: EventDataset, features: FeatureSpec | None = None,
                 keep: Collection[str] | None = None) -> None:
        self.dataset, self.features = dataset, features
        self.keep = None if keep is None else frozenset(keep)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: list[int]) -> PackedBatch:
        return pack_flat(self.dataset.gather(indices), self.features, self.keep)

    def __repr__(self) -> str:
        return f"BatchedView({self.dataset!r})"


def _identity(batch: Any) -> Any:
    return batch


class HitLoader(DataLoader):
    """A DataLoader whose workers return :class:`PackedBatch` (plain numpy, one pickle per
    batch, already collated) and whose iterator wraps each as a :class:`HitBatch` in the
    consuming process (``torch.from_numpy`` only).

    Sending one message of numpy arrays is several times faster than sending a dozen
    shared-memory tensors per batch between processes.
    """

    def __init__(self, dataset: EventDataset, batch_sampler: Sampler[list[int]], *,
                 features: FeatureSpec | None = None, keep: Collection[str] | None = None,
                 pin_memory: bool = False, **kwargs: Any) -> None:
        super().__init__(BatchedView(dataset, features, keep), batch_size=None, sampler=batch_sampler,
                         collate_fn=_identity, pin_memory=pin_memory, **kwargs)
        self.features = features

    def __iter__(self) -> Iterator[HitBatch]:  # type: ignore[override]
        # Not a generator function: the workers start fetching when the iterator is made,
        # so a trainer can make the next epoch's iterator ahead of time (during validation).
        inner = super().__iter__()
        _widen_result_pipe(inner)
        # With pin_memory the DataLoader's pin thread already made the HitBatch.
        return (item if isinstance(item, HitBatch) else unpack(item) for item in inner)


#: bytes of the worker -> consumer pipe: a whole batch fits (~200 KB for 16 LArTPC events).
RESULT_PIPE_BYTES = 1 << 20


def _widen_result_pipe(inner: Any, size: int = RESULT_PIPE_BYTES) -> None:
    """Let the workers' result pipe hold whole batches (Linux ``F_SETPIPE_SZ``).

    A batch is one pickled message of a few hundred KB; through the default 64 KB pipe the
    worker and the consumer hand it over in chunks, each a cross-process wake-up. With a
    wide pipe a finished batch waits complete in the pipe and the consumer reads it at
    once (next() 3.5-4.4 -> 2.0-2.6 ms per batch on the 2-core VM). Best effort: other
    platforms, a lower ``/proc/sys/fs/pipe-max-size`` or another torch layout change nothing.
    """
    queue = getattr(inner, "_worker_result_queue", None)
    reader = getattr(queue, "_reader", None)
    if reader is None:
        return
    try:
        import fcntl

        fcntl.fcntl(reader.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError, ValueError):
        pass


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of at most ``batch_size`` events and ``max_hits`` hits; forwards ``set_epoch``.

    Events are taken in the sampler's order. A batch closes when it holds ``batch_size``
    events or when the next event would take it over ``max_hits`` hits (memory grows with
    hits, not events: two 200k-hit events are as heavy as 200 events of 2k hits). An event
    with more than ``max_hits`` hits forms a batch alone: it is never dropped or split.
    ``max_hits=None`` batches by event count only. Each batch is sorted (storage order).

    Worker-affine streams: with ``num_workers > 1`` and a block sampler, the DataLoader hands
    batch ``k`` to worker ``k % num_workers``, so the events of each row group are routed to
    one worker's stream only and every row group is decoded once per epoch (instead of once
    per worker); batches never mix streams.

    ``drop_last``: the last batch of each stream (the only one the stream's end closes) is
    dropped when it holds fewer than ``batch_size`` events, unless it is a lone event over
    the budget. Batches the budget closed early are complete and are never dropped.

    Distributed training: when the sampler splits events over ranks (``world_size > 1``
    and ``all_rank_indices()``, as :class:`~hepgraph.store.sampler.BlockShuffleSampler`),
    every rank must yield the same number of batches or DDP waits forever in a collective.
    The split depends only on ``(seed, epoch)``, so each rank batches every rank's events and
    knows the largest count ``T``; a rank with fewer batches splits, one at a time, its
    multi-event batch with the most hits (ties: the earliest) into two halves by events,
    until it has ``T``. Halves stay in place in their stream, so worker affinity holds; if
    only lone events are left (``drop_last`` dropped events), the dropped trailing batches
    are kept after all. All ranks hold as many events (the rank sampler pads or trims), so
    ``T`` is always reachable. Splitting only makes batches smaller: the budget still holds.
    This also evens the counts without a budget, which worker streams of unequal length
    make differ. A sampler with ``world_size`` but no ``all_rank_indices()`` is not evened.

    ``len()`` is exact for the current epoch and equals what ``iter()`` yields; with a
    budget (or worker streams) it can change from epoch to epoch: :meth:`max_len` gives the
    most over a run's epochs (what a trainer sizes its schedule with).

    Args:
        sampler: the event order (``set_epoch`` is forwarded).
        batch_size: most events per batch.
        drop_last: drop each stream's incomplete trailing batch (see above).
        num_workers: loader workers (worker-affine streams with a block sampler).
        max_hits: most hits per batch (None = no limit).
        hit_counts: (len(dataset),) int64 hits of each event, indexed as the sampler's
            indices (:meth:`EventDataset.hit_counts`); needed with ``max_hits``.

    Raises:
        ConfigError: ``batch_size`` or ``max_hits`` below 1, or ``max_hits`` without
            ``hit_counts``.
    """

    def __init__(self, sampler: Sampler[int], batch_size: int, drop_last: bool,
                 num_workers: int = 0, *, max_hits: int | None = None,
                 hit_counts: np.ndarray | None = None) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size `{batch_size}` must be >= 1")
        if max_hits is not None and max_hits < 1:
            raise ConfigError(f"max_hits `{max_hits}` must be >= 1 hit per batch, or None")
        if max_hits is not None and hit_counts is None:
            raise ConfigError("max_hits needs each event's hits: pass hit_counts=dataset.hit_counts()")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last
        self.num_workers = num_workers
        self.max_hits = max_hits
        self.hit_counts = None if hit_counts is None else np.asarray(hit_counts, dtype=np.int64)
        self.epoch = int(getattr(sampler, "epoch", 0))
        self._planned: tuple[Any, list[list[np.ndarray]]] | None = None

    def __repr__(self) -> str:
        return (f"EpochBatchSampler(batch_size={self.batch_size}, max_hits={self.max_hits}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")

    def set_epoch(self, epoch: int) -> None:
        """Forward to the wrapped sampler (if it has ``set_epoch``)."""
        self.epoch = int(epoch)
        self._planned = None
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    # ----------------------------------------------------------------------------------
    def _streams(self, idx: np.ndarray) -> list[np.ndarray]:
        blocks = getattr(self.sampler, "blocks", None)
        w = self.num_workers
        if w <= 1 or not blocks or len(idx) == 0:
            return [idx]
        block_of = np.empty(int(max(int(b.max()) for b in blocks if len(b))) + 1, dtype=np.int64)
        for k, b in enumerate(blocks):
            block_of[b] = k
        bid = block_of[idx]
        _, first = np.unique(bid, return_index=True)  # blocks in order of first appearance
        owner = np.empty(len(blocks), dtype=np.int64)
        owner[bid[np.sort(first)]] = np.arange(len(first)) % w
        return [idx[owner[bid] == k] for k in range(w)]

    def _pack(self, stream: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """One stream's batches (unsorted) and its dropped trailing batch (or None)."""
        m, bs = len(stream), self.batch_size
        if self.max_hits is None:
            ends = list(range(bs, m, bs))
        else:
            cum = np.cumsum(self.hit_counts[stream]).tolist()  # type: ignore[index]
            ends, start, limit = [], 0, self.max_hits
            while start < m:  # one step per batch (bisect on a list: ~1 us a step)
                base = cum[start - 1] if start else 0
                fits = bisect.bisect_right(cum, base + limit, start, min(start + bs, m))
                start = max(start + 1, fits)  # a lone oversize event: 1
                ends.append(start)
            ends = ends[:-1]
        batches = [stream[a:b] for a, b in zip([0, *ends], [*ends, m], strict=True)] if m else []
        if self.drop_last and batches and len(batches[-1]) < bs and not self._oversize(batches[-1]):
            return batches, batches.pop()
        return batches, None

    def _oversize(self, batch: np.ndarray) -> bool:
        return (self.max_hits is not None and len(batch) == 1
                and int(self.hit_counts[batch[0]]) > self.max_hits)  # type: ignore[index]

    def _weight(self, batch: np.ndarray) -> int:
        return int(self.hit_counts[batch].sum()) if self.hit_counts is not None else len(batch)

    def _plan_of(self, idx: np.ndarray) -> tuple[list[list[np.ndarray]], list[np.ndarray | None]]:
        packed = [self._pack(s) for s in self._streams(idx)]
        return [b for b, _ in packed], [d for _, d in packed]

    def _equalize(self, streams: list[list[np.ndarray]], dropped: list[np.ndarray | None],
                  target: int) -> list[list[np.ndarray]]:
        """Split (then restore dropped) batches until there are ``target`` (see the class)."""
        count = sum(len(p) for p in streams)
        if count >= target:
            return streams
        # A piece is keyed (stream, slot, path): its halves get path + (0,) and + (1,), so
        # sorting the keys gives the stream order back.
        heap: list[tuple[int, int, int, tuple[int, ...]]] = []
        pieces: dict[tuple[int, int, tuple[int, ...]], np.ndarray] = {}

        def add(s: int, slot: int, path: tuple[int, ...], b: np.ndarray) -> None:
            pieces[(s, slot, path)] = b
            if len(b) > 1:
                heapq.heappush(heap, (-self._weight(b), s, slot, path))

        for s, batches in enumerate(streams):
            if not batches:
                continue
            sizes = np.array([len(b) for b in batches])
            flat = np.concatenate(batches)
            w = (np.add.reduceat(self.hit_counts[flat], np.cumsum(sizes) - sizes)
                 if self.hit_counts is not None else sizes).tolist()
            for slot, b in enumerate(batches):
                pieces[(s, slot, ())] = b
                if len(b) > 1:
                    heap.append((-w[slot], s, slot, ()))
        heapq.heapify(heap)
        while count < target:
            if heap:
                _, s, slot, path = heapq.heappop(heap)
                b = pieces.pop((s, slot, path))
                half = (len(b) + 1) // 2
                add(s, slot, (*path, 0), b[:half])
                add(s, slot, (*path, 1), b[half:])
            else:
                s = next((k for k, d in enumerate(dropped) if d is not None), -1)
                if s < 0:  # a custom rank sampler that gives ranks unequal shares
                    raise ConfigError(f"the sampler's ranks hold unequal numbers of events "
                                      f"({target} batches needed); give every rank as many "
                                      "events, or DDP waits forever")
                add(s, len(streams[s]), (), dropped[s])  # type: ignore[arg-type]
                dropped[s] = None
            count += 1
        out: list[list[np.ndarray]] = [[] for _ in streams]
        for key in sorted(pieces):
            out[key[0]].append(pieces[key])
        return out

    def _plan(self) -> list[list[np.ndarray]]:
        """This epoch's batches per stream (unsorted); computed once per epoch."""
        key = (self.epoch, getattr(self.sampler, "epoch", None),
               getattr(self.sampler, "seed", None))
        if self._planned is not None and self._planned[0] == key:
            return self._planned[1]
        all_ranks = getattr(self.sampler, "all_rank_indices", None)
        if all_ranks is not None and getattr(self.sampler, "world_size", 1) == 1:
            streams, _ = self._plan_of(np.asarray(all_ranks()[0], dtype=np.int64))
        elif all_ranks is not None:
            plans = [self._plan_of(np.asarray(i, dtype=np.int64)) for i in all_ranks()]
            target = max(sum(len(p) for p in streams) for streams, _ in plans)
            streams, dropped = plans[self.sampler.rank]  # type: ignore[attr-defined]
            streams = self._equalize(streams, dropped, target)
        else:
            streams, _ = self._plan_of(np.fromiter(iter(self.sampler), dtype=np.int64))
        self._planned = (key, streams)
        return streams

    def __len__(self) -> int:
        if self.max_hits is None and self.num_workers <= 1:
            # One stream, no budget: the count does not depend on the order (ranks hold as
            # many events each, so they agree too).
            n = len(self.sampler)  # type: ignore[arg-type]
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return sum(len(p) for p in self._plan())

    def max_len(self, epochs: Iterable[int]) -> int:
        """The most batches any of ``epochs`` yields (the current epoch is kept).

        With a budget the count depends on which events share a batch, so it changes with
        the shuffle; a schedule sized with this never runs past its end and no epoch is cut.
        """
        if not hasattr(self.sampler, "set_epoch"):
            return len(self)
        keep, most = self.epoch, 0
        try:
            for e in epochs:
                self.set_epoch(e)
                most = max(most, len(self))
        finally:
            self.set_epoch(keep)
        return most

    def __iter__(self) -> Iterator[list[int]]:
        """Index lists (each sorted: events of a batch come in storage order)."""
        per = self._plan()
        self._planned = None  # the next epoch (or a random sampler's next pass) plans anew
        for i in range(max((len(p) for p in per), default=0)):
            for p in per:  # round robin: batch k goes to worker k % num_workers
                if i < len(p):
                    # Sorting inside a batch keeps its (random) composition and lets the
                    # dataset copy each row group's events as one contiguous slice.
                    yield np.sort(p[i]).tolist()
