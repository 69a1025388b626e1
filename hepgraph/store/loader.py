"""``make_loader``: a ``torch.utils.data.DataLoader`` of :class:`~hepgraph.events.HitBatch`.

>>> ds = hepgraph.open_dataset("my_dataset")                          # doctest: +SKIP
>>> loader = make_loader(ds.split("train"), 64, shuffle=True, num_workers=2)
>>> for batch in loader: batch.pos.shape                              # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Sampler

from hepgraph.errors import ConfigError
from hepgraph.events.features import DEFAULT_FEATURES, FeatureSpec
from hepgraph.events.hitbatch import collate_events
from hepgraph.store.batching import EpochBatchSampler, HitLoader
from hepgraph.store.dataset import EventDataset
from hepgraph.store.sampler import BlockShuffleSampler


def make_loader(
    dataset: Any,
    batch_size: int,
    *,
    shuffle: bool = False,
    features: FeatureSpec | Sequence[Any] | None = None,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
    sampler: Sampler[int] | None = None,
    window: int = 4,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    columns: Sequence[str] | None = None,
    max_hits: int | None = None,
    **kwargs: Any,
) -> DataLoader:
    """A DataLoader yielding ``HitBatch`` objects.

    Args:
        dataset: an :class:`~hepgraph.store.EventDataset` (or a view from ``.split``).
        batch_size: events per batch.
        shuffle: block-shuffle (row groups, then events within ``window`` row groups).
        features: the feature spec for ``HitBatch.feats`` (default: ``charge``).
        num_workers: loader worker processes (each keeps its own row-group cache).
        seed: shuffling seed; call ``loader.sampler.set_epoch(e)`` for a new order per epoch.
        drop_last: drop the last incomplete batch (and the tail across ranks).
        sampler: a custom sampler (``shuffle``, ``window``, ``rank`` are then ignored).
        window: row groups per shuffle window.
        rank: this process's rank for DistributedDataParallel.
        world_size: number of DDP ranks.
        pin_memory: pin batches (``HitBatch.pin_memory``) for faster host -> GPU copies.
        columns: the hit/event/particle columns batches carry besides ``pos``, ``feats`` and
            ``event_id`` (None = all). An :class:`EventDataset` then reads only these and the
            feature columns, which makes every batch cheaper to read, pack and send.
        max_hits: most hits per batch (None = no limit): a batch closes at ``batch_size``
            events or before the event that would take it over ``max_hits`` hits; an event
            over the limit is a batch alone (see
            :class:`~hepgraph.store.batching.EpochBatchSampler`, also for ``drop_last`` and
            DDP). :class:`EventDataset` only.
        **kwargs: passed to ``DataLoader`` (``prefetch_factor``, ``multiprocessing_context``, ...).

    Returns:
        The loader. ``loader.sampler.set_epoch(e)`` reshuffles per epoch. For an
        :class:`EventDataset` the loader fetches whole batches at once
        (:meth:`EventDataset.gather` + :func:`~hepgraph.store.batching.pack_flat` in the worker,
        wrapped as tensors in the consumer; identical
        to ``collate_events`` on the same events), and ``loader.sampler`` yields index lists.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size `{batch_size}` must be >= 1")
    if num_workers < 0:
        raise ConfigError(f"num_workers `{num_workers}` must be >= 0")
    if max_hits is not None and max_hits < 1:
        raise ConfigError(f"max_hits `{max_hits}` must be >= 1 hit per batch, or None")
    if max_hits is not None and not isinstance(dataset, EventDataset):
        raise ConfigError(f"max_hits `{max_hits}` needs an EventDataset (a dataset directory "
                          f"opened with hepgraph.open_dataset), not `{type(dataset).__name__}`; "
                          "batch by events only with max_hits=None")
    spec = FeatureSpec.parse(features) if features is not None else None
    if num_workers > 0 and hasattr(dataset, "check_shards"):
        dataset.check_shards()  # here, not in a worker: a damaged shard is one clear error
    if sampler is None:
        blocks = dataset if hasattr(dataset, "blocks") else [np.arange(len(dataset))]
        # Worker-affine batches give each worker window/num_workers row groups: widen the
        # window so that mixing does not shrink with more workers.
        wide = window * max(num_workers, 1) if shuffle else window
        sampler = BlockShuffleSampler(blocks, window=wide, seed=seed, shuffle=shuffle, rank=rank,
                                      world_size=world_size, drop_last=drop_last)
    if num_workers > 0:
        kwargs.setdefault("persistent_workers", True)
    if isinstance(dataset, EventDataset):
        # shuffle=False keeps storage order, so batches are not made worker-affine then.
        most = dataset.max_event_hits()
        if max_hits is not None and most is not None and most * batch_size <= max_hits:
            max_hits = None  # no batch can reach the limit: skip reading the hit counts
        batches = EpochBatchSampler(sampler, batch_size, drop_last, num_workers if shuffle else 0,
                                    max_hits=max_hits,
                                    hit_counts=None if max_hits is None else dataset.hit_counts())
        if columns is not None:
            # No spec: pack_flat uses DEFAULT_FEATURES when the data have them.
            feats = spec.names if spec is not None else [c for c in DEFAULT_FEATURES.names
                                                         if c in dataset.manifest["columns"]]
            dataset = dataset.select([*columns, *feats])
        return HitLoader(dataset, batches, features=spec, keep=columns, num_workers=num_workers,
                         pin_memory=pin_memory, **kwargs)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=functools.partial(collate_events, features=spec),
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
        **kwargs,
    )
