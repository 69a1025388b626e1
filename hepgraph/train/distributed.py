"""Distributed data parallel helpers (``torchrun --nproc-per-node N -m hepgraph train ...``).

One code path for 1 or N processes: :func:`init_distributed` reads the torchrun
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and starts NCCL on GPUs or gloo on
CPU; without it everything is a no-op. Each rank sees a disjoint shard of the epoch's
event order (:class:`ShardedSampler`); losses and metrics are reduced across ranks and
only rank 0 writes files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the only rank that writes)."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group when launched by torchrun (NCCL for cuda, gloo for cpu)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local)


def shutdown() -> None:
    """Leave the process group if one was started."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class ShardedSampler(Sampler[int]):
    """Epoch-seeded event order split over ranks (DistributedSampler equivalent).

    The order is a permutation from ``seed`` (or ``range(n)`` without shuffling); with
    ``pad=True`` it is padded by wrapping so every rank gets the same number of events
    (equal step counts keep DDP collectives aligned). Rank ``r`` takes ``order[r::world]``.

    Args:
        n: dataset length.
        rank: this rank.
        world_size: number of ranks.
        shuffle: permute the order.
        seed: permutation seed (use ``base_seed + epoch``).
        pad: pad to a multiple of ``world_size`` (training); False for evaluation.
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1, *, shuffle: bool = True,
                 seed: int = 0, pad: bool = True) -> None:
        self.n, self.rank, self.world_size = int(n), int(rank), int(world_size)
        self.shuffle, self.seed, self.pad = shuffle, int(seed), pad

    def _order(self) -> np.ndarray:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(self.n, generator=g).numpy()
        else:
            order = np.arange(self.n)
        if self.pad and self.world_size > 1 and self.n % self.world_size:
            extra = self.world_size - self.n % self.world_size
            order = np.concatenate([order, np.resize(order, extra)]) if self.n else order
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return len(self._order())

    def __repr__(self) -> str:
        return (f"ShardedSampler(n={self.n}, rank={self.rank}, world_size={self.world_size}, "
                f"shuffle={self.shuffle}, seed={self.seed})")


def all_reduce_sum(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Sum a list of floats over ranks (float64)."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def gather_arrays(arrays: Mapping[str, np.ndarray], info: DistInfo) -> dict[str, np.ndarray]:
    """Concatenate each rank's arrays (rank order) on every rank."""
    if not info.enabled:
        return dict(arrays)
    parts: list[Any] = [None] * info.world_size
    dist.all_gather_object(parts, dict(arrays))
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}


def broadcast_flag(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """Rank 0's boolean, on every rank (early stopping decisions)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())
