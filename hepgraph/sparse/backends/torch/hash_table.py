"""An open-addressing hash table of int64 keys in pure PyTorch, vectorised insert and lookup.

Linear probing in a power-of-two table at most a quarter full (most misses end on the
first probe); the slot of a key is the top bits
of ``key * 0x9E3779B97F4A7C15`` (Fibonacci hashing, with int64 wrap-around). Insert and
lookup advance all pending keys one probe per round, so a round is a handful of gathers
and scatters over the keys still pending and the work stays linear in the number of keys
and queries whatever their range (unlike a direct-address table over a bounding box).

When two pending keys claim one free slot in the same round, one wins (which one may
depend on the thread count) and the other probes on; the table layout may therefore
differ between runs, but lookups return the same values.
"""

from __future__ import annotations

import torch
from torch import Tensor

EMPTY = -1
# 0x9E3779B97F4A7C15 (2^64 / golden ratio) as a signed int64
MULTIPLIER = 0x9E3779B97F4A7C15 - 2**64


class HashTable:
    """Unique non-negative int64 keys -> int64 values (default: the key's position).

    Args:
        keys: (N,) int64, unique, >= 0.
        values: (N,) int64 values; default ``arange(N)``.
    """

    def __init__(self, keys: Tensor, values: Tensor | None = None) -> None:
        n = keys.numel()
        self.bits = max(4, (4 * max(n, 1) - 1).bit_length())  # capacity >= 4N
        size = 1 << self.bits
        self.mask = size - 1
        dev = keys.device
        self.keys = torch.full((size,), EMPTY, dtype=torch.long, device=dev)
        self.values = torch.full((size,), -1, dtype=torch.long, device=dev)
        if values is None:
            values = torch.arange(n, device=dev)
        pending = torch.arange(n, device=dev)
        slot = self.slot(keys)
        while pending.numel():
            k = keys.index_select(0, pending)
            free = self.keys.index_select(0, slot) == EMPTY
            self.keys.index_put_((slot[free],), k[free])  # contested slots: one key wins
            won = self.keys.index_select(0, slot) == k
            self.values.index_put_((slot[won],), values.index_select(0, pending[won]))
            lost = ~won
            pending = pending[lost]
            slot = (slot[lost] + 1) & self.mask

    def slot(self, keys: Tensor) -> Tensor:
        """Home slot of each key: (M,) int64."""
        return ((keys * MULTIPLIER) >> (64 - self.bits)) & self.mask

    def lookup(self, queries: Tensor) -> Tensor:
        """Value of each query key, -1 where absent.

        Args:
            queries: (M,) int64 (any values; negative ones are never found).

        Returns:
            (M,) int64.
        """
        slot = self.slot(queries)
        cur = self.keys.index_select(0, slot)
        hit = cur == queries
        # first probe for every query without compaction: most end here
        out = torch.where(hit, self.values.index_select(0, slot), -1)
        go_on = (cur != EMPTY) & ~hit
        pending = go_on.nonzero().squeeze(1)
        q = queries.index_select(0, pending)
        slot = (slot.index_select(0, pending) + 1) & self.mask
        while pending.numel():
            cur = self.keys.index_select(0, slot)
            hit = cur == q
            if bool(hit.any()):
                out.index_put_((pending[hit],), self.values.index_select(0, slot[hit]))
            go_on = (cur != EMPTY) & ~hit
            pending, q = pending[go_on], q[go_on]
            slot = (slot[go_on] + 1) & self.mask
        return out
