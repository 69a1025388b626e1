"""Kernel maps: for every kernel offset, the (input row, output row) pairs it connects.

Neighbours are found for all offsets in one vectorised call (no Python loop over points):
coordinates get a mixed-radix int64 key over their bounding box, and keys are looked up in
a direct-address table when the box has at most ``DENSE_CELLS_PER_SITE`` cells per site (a
perfect hash: one gather per query), else, for small sets, in an open-addressing
:class:`~hepgraph.sparse.backends.torch.hash_table.HashTable` (linear in sites and
queries), and for large ones by sort + searchsorted with the queries sorted (monotone
binary searches; faster than the hash table in pure torch on CPU at those sizes).

Convention (shared with ``F.conv{D}d``): an output site ``o`` of a convolution with stride
``s`` receives input site ``i = o * s + d_j`` through weight ``W[j]``, with ``d_j`` from
:func:`~hepgraph.sparse.backends.torch.hashing.kernel_offsets`. A transposed convolution uses
the same pairs with the roles of input and output swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hepgraph.sparse.backends.torch.hash_table import HashTable
from hepgraph.sparse.backends.torch.hashing import hash_coords, offset_deltas, unhash_keys


@dataclass(frozen=True)
class KernelMap:
    """Pairs of rows connected by each kernel offset, grouped by offset.

    Attributes:
        in_idx: (P,) int64 input rows.
        out_idx: (P,) int64 output rows.
        sizes: K pair counts; the pairs of offset ``j`` are ``[sum(sizes[:j]), sum(sizes[:j+1]))``.
        n_in: number of input rows.
        n_out: number of output rows.
        identity: index of an offset mapping every row to itself (submanifold centre, whose
            pairs are not stored: ``sizes[identity] == 0``), or None.
        cache: derived layouts (convolution plans), filled lazily.
    """

    in_idx: Tensor
    out_idx: Tensor
    sizes: tuple[int, ...]
    n_in: int
    n_out: int
    identity: int | None = None
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_pairs(self) -> int:
        """Stored pairs plus the implicit identity pairs."""
        return int(self.in_idx.numel()) + (self.n_in if self.identity is not None else 0)

    def transposed(self) -> KernelMap:
        """The same pairs with input and output swapped (for transposed convolution)."""
        if "transposed" not in self.cache:
            t = KernelMap(
                self.out_idx, self.in_idx, self.sizes, self.n_out, self.n_in, self.identity
            )
            for key, plan in self.cache.items():  # ("plan", transposed, layout): share
                if isinstance(key, tuple) and key[0] == "plan":
                    t.cache[("plan", not key[1], key[2])] = plan
            self.cache["transposed"] = t
        return self.cache["transposed"]


# A direct-address table is used when the padded bounding box has at most this many cells
# per site and query (plus a constant), and at most DENSE_CELLS_MAX (256 MB of int32): a
# cell costs a memset, far less than a probe of the hash table or a binary search.
DENSE_CELLS_PER_SITE = 64
DENSE_CELLS_MIN = 2**16
DENSE_CELLS_MAX = 2**26
# Past the table, the hash table serves up to this many sites + queries; beyond, sort +
# searchsorted, which measured faster in pure torch on CPU from ~2e4 sites on (1.3-1.6x at
# 1e5-1e6 sites, docs/benchmarks.md) while the hash table wins on small sets (1.5x at 2e3).
HASH_MAX_SITES = 2**15


def _radix(
    coords: list[Tensor], lo_pad: list[int], hi_pad: list[int]
) -> tuple[list[int], list[int]]:
    """Lower corner and extents of the boxes of ``coords`` grown by the offset range."""
    lo = torch.stack([c.amin(0) for c in coords]).amin(0).tolist()
    hi = torch.stack([c.amax(0) for c in coords]).amax(0).tolist()
    lo = [lo[0]] + [a - p for a, p in zip(lo[1:], lo_pad)]
    hi = [hi[0]] + [a + p for a, p in zip(hi[1:], hi_pad)]
    return lo, [h - l + 1 for l, h in zip(lo, hi)]


def _linear(coords: Tensor, lo: list[int], ext: list[int]) -> Tensor:
    """Mixed-radix linear index of coordinate rows within the box ``lo + [0, ext)``."""
    key = coords[:, 0] - lo[0]
    for i in range(1, len(ext)):
        key = key * ext[i] + (coords[:, i] - lo[i])
    return key


def _linear_deltas(offsets: Tensor, ext: list[int]) -> Tensor:
    delta = torch.zeros(offsets.shape[0], dtype=torch.long, device=offsets.device)
    for i in range(offsets.shape[1]):
        delta = delta * ext[i + 1] + offsets[:, i]
    return delta


def search(table: Tensor, queries: Tensor, offsets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """All ``(j, m, t)`` with ``table[t] == queries[m] + (0, offsets[j])``, grouped by ``j``.

    A direct-address table over the bounding box is used when it is small enough
    (a perfect hash: one gather per query), otherwise an open-addressing hash table (small
    sets) or sort + searchsorted (large sets).

    Args:
        table: (N, 1+D) int64 unique coordinate rows.
        queries: (M, 1+D) int64 base coordinate rows.
        offsets: (K, D) int64 spatial offsets.

    Returns:
        ``(j, m, t)``, three (P,) int64 tensors grouped by ``j`` (ascending).
    """
    n = table.shape[0]
    if offsets.shape[0] == 0:  # e.g. a 1x1x1 submanifold kernel: only the implicit centre
        empty = torch.zeros(0, dtype=torch.long, device=table.device)
        return empty, empty, empty
    lo_pad = (-offsets.amin(0)).clamp(min=0).tolist()
    hi_pad = offsets.amax(0).clamp(min=0).tolist()
    lo, ext = _radix([table, queries], lo_pad, hi_pad)
    q = _linear(queries, lo, ext)
    deltas = _linear_deltas(offsets, ext)
    cells = 1
    for e in ext:
        cells *= e
    m_count = q.numel()
    if cells <= min(DENSE_CELLS_MAX, DENSE_CELLS_MIN + DENSE_CELLS_PER_SITE * (n + m_count)):
        flat = (q.unsqueeze(0) + deltas.unsqueeze(1)).view(-1)  # (K*M,) query keys
        lut = torch.full((cells,), -1, dtype=torch.int32, device=table.device)
        lut[_linear(table, lo, ext)] = torch.arange(n, dtype=torch.int32, device=table.device)
        hit = lut.index_select(0, flat)  # (K*M,) table row or -1
    elif n + m_count <= HASH_MAX_SITES:
        flat = (q.unsqueeze(0) + deltas.unsqueeze(1)).view(-1)
        hit = HashTable(_linear(table, lo, ext)).lookup(flat)
    else:
        return _sorted_search(_linear(table, lo, ext), q, deltas)
    f = (hit >= 0).nonzero().squeeze(1)
    t = hit.index_select(0, f).long()
    j = torch.div(f, m_count, rounding_mode="floor")
    return j, f - j * m_count, t


def _sorted_search(keys: Tensor, q: Tensor, deltas: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`search` by sort + searchsorted, the queries sorted (monotone binary searches)."""
    n, m_count = keys.numel(), q.numel()
    sk, perm = torch.sort(keys)
    qs, qperm = torch.sort(q)
    flat = (qs.unsqueeze(0) + deltas.unsqueeze(1)).view(-1)
    pos = torch.searchsorted(sk, flat)
    pos.clamp_(max=n - 1)
    f = (sk.index_select(0, pos) == flat).nonzero().squeeze(1)
    j = torch.div(f, m_count, rounding_mode="floor")
    m = qperm.index_select(0, f - j * m_count)
    return j, m, perm.index_select(0, pos.index_select(0, f))


def _empty_map(k: int, n_in: int, n_out: int, device: torch.device) -> KernelMap:
    e = torch.empty(0, dtype=torch.long, device=device)
    return KernelMap(e, e, (0,) * k, n_in, n_out, None)


def _group(j: Tensor, k: int) -> tuple[int, ...]:
    return tuple(torch.bincount(j, minlength=k).tolist())


def submanifold_map(coords: Tensor, offsets: Tensor) -> KernelMap:
    """Kernel map of a submanifold convolution (output sites = input sites).

    For a kernel symmetric about its centre (odd sizes), only half of the offsets are
    searched: the map of ``-d`` is the map of ``d`` with input and output swapped, and the
    centre is the identity (no stored pairs).

    Args:
        coords: (N, 1+D) int64 unique sites.
        offsets: (K, D) kernel offsets.

    Returns:
        The :class:`KernelMap` (n_in = n_out = N).
    """
    n, k = coords.shape[0], offsets.shape[0]
    offsets = offsets.to(coords.device)
    if n == 0:
        return _empty_map(k, 0, 0, coords.device)
    symmetric = k % 2 == 1 and bool((offsets.flip(0) == -offsets).all())
    if not symmetric:
        j, out, inp = search(coords, coords, offsets)
        return KernelMap(inp, out, _group(j, k), n, n, None)
    h = k // 2
    j, site, nbr = search(coords, coords, offsets[:h])  # nbr = site + d_j
    half = list(_group(j, h))
    nbr_g, site_g = nbr.split(half), site.split(half)
    # offset j: out = o, in = o + d_j; offset K-1-j (= -d_j): out = o + d_j, in = o.
    in_idx = torch.cat([nbr, *reversed(site_g)])  # nbr == cat(nbr_g) (grouped by j)
    out_idx = torch.cat([site, *reversed(nbr_g)])
    return KernelMap(in_idx, out_idx, (*half, 0, *reversed(half)), n, n, h)


def downsample(coords: Tensor, stride: tuple[int, ...]) -> Tensor:
    """Output sites of a strided convolution: ``unique(floor(coords / stride))`` per batch entry.

    Args:
        coords: (N, 1+D) int64.
        stride: D strides.

    Returns:
        (M, 1+D) int64, sorted by key (batch, then coordinates).
    """
    s = torch.tensor((1, *stride), dtype=torch.long, device=coords.device)
    down = torch.div(coords, s, rounding_mode="floor")
    keys = torch.unique(hash_coords(down))  # sorted
    return unhash_keys(keys, coords.shape[1] - 1)


def strided_map(
    in_coords: Tensor, out_coords: Tensor, stride: tuple[int, ...], offsets: Tensor
) -> KernelMap:
    """Kernel map of a strided convolution from a fine coordinate set to a coarse one.

    Output site ``o`` (coarse) connects to input site ``o * stride + d_j`` (fine).

    Args:
        in_coords: (N_in, 1+D) fine sites.
        out_coords: (N_out, 1+D) coarse sites.
        stride: D strides.
        offsets: (K, D) kernel offsets.

    Returns:
        The :class:`KernelMap` (fine = input, coarse = output).
    """
    k = offsets.shape[0]
    n_in, n_out = in_coords.shape[0], out_coords.shape[0]
    if n_in == 0 or n_out == 0:
        return _empty_map(k, n_in, n_out, in_coords.device)
    s = torch.tensor((1, *stride), dtype=torch.long, device=out_coords.device)
    j, out, inp = search(in_coords, out_coords * s, offsets.to(in_coords.device))
    return KernelMap(inp, out, _group(j, k), n_in, n_out, None)


def upsample(coords: Tensor, stride: tuple[int, ...], offsets: Tensor) -> Tensor:
    """Output sites of a transposed convolution with no known finer coordinates.

    Every ``o * stride + d_j`` is generated (the support of the dense transposed conv).

    Args:
        coords: (N, 1+D) coarse coordinates.
        stride: D strides.
        offsets: (K, D) kernel offsets.

    Returns:
        (M, 1+D) fine coordinates, sorted by key.
    """
    s = torch.tensor((1, *stride), dtype=torch.long, device=coords.device)
    base = hash_coords(coords * s)
    deltas = offset_deltas(offsets.to(coords.device))
    keys = torch.unique((base.unsqueeze(0) + deltas.unsqueeze(1)).reshape(-1))
    return unhash_keys(keys, coords.shape[1] - 1)
