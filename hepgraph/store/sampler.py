"""Block-shuffle sampling: shuffle row groups, then events within a window of row groups.

A full random permutation would touch a different row group at almost every step and
defeat the row-group cache; a block shuffle reads each row group once per epoch while
still mixing events across ``window`` row groups. With ``world_size > 1`` each rank gets
a contiguous, equally long slice of the epoch's order (so ranks read disjoint row groups).

>>> s = BlockShuffleSampler(ds, window=4, seed=0)   # doctest: +SKIP
>>> s.set_epoch(1); order = list(s)                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
from torch.utils.data import Sampler

from hepgraph.errors import ConfigError


class _Blocked(Protocol):
    def blocks(self) -> list[np.ndarray]: ...

    def __len__(self) -> int: ...


class BlockShuffleSampler(Sampler[int]):
    """Seedable, DDP-aware block-shuffle sampler.

    Args:
        dataset: anything with ``blocks()`` (an :class:`~hepgraph.store.EventDataset`)
            or a sequence of index blocks.
        window: row groups whose events are shuffled together.
        seed: base seed; the order depends on ``(seed, epoch)`` only.
        shuffle: False = storage order (still split across ranks).
        rank: this process's rank (DistributedDataParallel).
        world_size: number of ranks.
        drop_last: drop the tail so that every rank gets ``len // world_size`` events;
            otherwise the order is padded by wrapping around.
    """

    def __init__(
        self,
        dataset: _Blocked | Sequence[np.ndarray],
        *,
        window: int = 4,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        if window < 1:
            raise ConfigError(f"window `{window}` must be >= 1 row group")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank `{rank}` must lie in [0, world_size={world_size})")
        if hasattr(dataset, "blocks"):
            self.blocks = list(dataset.blocks())
        else:
            self.blocks = [np.asarray(b) for b in dataset]
        self.window = window
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.epoch = 0
        self.total = int(sum(len(b) for b in self.blocks))

    def __repr__(self) -> str:
        return (f"BlockShuffleSampler(events={self.total}, window={self.window}, seed={self.seed}, "
                f"rank={self.rank}/{self.world_size})")

    def set_epoch(self, epoch: int) -> None:
        """Use a different order for each epoch (as ``DistributedSampler``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.drop_last:
            return self.total // self.world_size
        return -(-self.total // self.world_size)

    def order(self) -> np.ndarray:
        """The whole epoch's order (all ranks), before the per-rank slice."""
        if not self.blocks:
            return np.zeros(0, dtype=np.int64)
        if not self.shuffle:
            return np.concatenate(self.blocks).astype(np.int64)
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = rng.permutation(len(self.blocks))
        parts = []
        for w in range(0, len(perm), self.window):
            chunk = np.concatenate([self.blocks[k] for k in perm[w : w + self.window]])
            parts.append(rng.permutation(chunk))
        return np.concatenate(parts).astype(np.int64)

    def rank_indices(self, rank: int | None = None) -> np.ndarray:
        """This rank's (or rank ``rank``'s) indices for the current epoch."""
        return self.all_rank_indices()[self.rank if rank is None else rank]

    def all_rank_indices(self) -> list[np.ndarray]:
        """Every rank's indices for the current epoch, in rank order (one shuffle for all).

        The order depends on ``(seed, epoch)`` only, so each rank can compute the others'
        share; the hit-budget batcher uses this to give all ranks the same number of batches.
        """
        order = self.order()
        n = len(self)
        need = n * self.world_size
        if need > len(order) and len(order):
            order = np.resize(order, need)  # wrap around to pad
        return [order[r * n : (r + 1) * n] for r in range(self.world_size)]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rank_indices().tolist())
