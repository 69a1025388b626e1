"""Fast batches for the loader: ``EventDataset.gather`` -> ``HitBatch`` without per-event work.

``collate_flat`` builds exactly what :func:`hepgraph.events.collate_events` builds from the
same events (tested), but from flat arrays, so a batch costs a few numpy operations per
column instead of a Python loop over events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from hepgraph.events.features import DEFAULT_FEATURES, FeatureSpec
from hepgraph.events.hitbatch import POS_COLUMNS, HitBatch
from hepgraph.store.dataset import EventDataset, FlatBatch


def collate_flat(flat: FlatBatch, features: FeatureSpec | Sequence[Any] | None = None) -> HitBatch:
    """A :class:`HitBatch` from a :class:`FlatBatch` (same result as ``collate_events``)."""
    spec = FeatureSpec.parse(features) if features is not None else None
    b = len(flat.counts)
    ptr = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(flat.counts, out=ptr[1:])
    hit = flat.hits
    n = int(ptr[-1])
    pos = np.stack([hit.get(c, np.zeros(n, np.float32)) for c in POS_COLUMNS], axis=1)
    if spec is None:
        spec = DEFAULT_FEATURES if "charge" in hit else None
    feats = spec.apply(hit) if spec is not None else np.ones((n, 1), np.float32)
    t = torch.from_numpy
    evt = dict(flat.events)
    pptr = None
    if flat.pcounts is not None:
        pptr = torch.zeros(b + 1, dtype=torch.int64)
        pptr[1:] = torch.cumsum(t(flat.pcounts), 0)
    return HitBatch(
        pos=t(np.ascontiguousarray(pos, dtype=np.float32)),
        feats=t(np.ascontiguousarray(feats)),
        ptr=t(ptr),
        batch_size=b,
        event_id=t(evt.pop("event_id", np.arange(b)).astype(np.int64)),
        hit={k: t(np.ascontiguousarray(v)) for k, v in hit.items() if k not in POS_COLUMNS},
        event={k: t(np.ascontiguousarray(v)) for k, v in evt.items() if v.dtype != object},
        particle={k: t(np.ascontiguousarray(v)) for k, v in flat.particles.items()},
        particle_ptr=pptr,
    )


class BatchedView(Dataset):
    """Wraps an :class:`EventDataset` so that ``view[list_of_indices]`` is one ``HitBatch``."""

    def __init__(self, dataset: EventDataset, features: FeatureSpec | None) -> None:
        self.dataset = dataset
        self.features = features

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: list[int]) -> HitBatch:
        return collate_flat(self.dataset.gather(indices), self.features)

    def __repr__(self) -> str:
        return f"BatchedView({self.dataset!r})"


class EpochBatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from a sampler; forwards ``set_epoch``."""

    def __init__(self, sampler: Sampler[int], batch_size: int, drop_last: bool) -> None:
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def set_epoch(self, epoch: int) -> None:
        """Forward to the wrapped sampler (if it has ``set_epoch``)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        idx = np.fromiter(iter(self.sampler), dtype=np.int64)
        stop = len(idx) - len(idx) % self.batch_size if self.drop_last else len(idx)
        for a in range(0, stop, self.batch_size):
            yield idx[a : a + self.batch_size].tolist()
