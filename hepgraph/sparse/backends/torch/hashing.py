"""Coordinates <-> int64 keys, and kernel offsets.

A coordinate row ``(b, c_1, ..., c_D)`` is packed into one int64 key: the batch index in the
top 15 bits, then each coordinate in ``48 // D`` bits in offset binary (``c + 2**(bits-1)``).
The packing is linear as long as no field overflows, so the key of ``c + d`` is
``key(c) + delta(d)``: a neighbour query is one addition. Coordinates are limited to
``|c| < 2**(bits-2)`` (16384 in 3D, 4194304 in 2D), which leaves room for any kernel offset
up to the same size without overflow.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor

from hepgraph.errors import DataError

KEY_BITS = 48
MAX_BATCH = 2**15


def coord_bits(ndim: int) -> int:
    """Bits per spatial coordinate in a key for ``ndim`` spatial dimensions."""
    return KEY_BITS // ndim


def coord_limit(ndim: int) -> int:
    """Coordinates must satisfy ``|c| < coord_limit(ndim)``."""
    return 2 ** (coord_bits(ndim) - 2)


def check_coords(coords: Tensor) -> None:
    """Raise :class:`DataError` if ``coords`` cannot be hashed.

    Args:
        coords: (N, 1+D) integer tensor, batch index in column 0.
    """
    if coords.dim() != 2 or coords.shape[1] < 2:
        raise DataError(
            f"coords must have shape (N, 1+D) with the batch index in column 0, "
            f"got shape `{tuple(coords.shape)}`"
        )
    if coords.dtype.is_floating_point or coords.dtype == torch.bool:
        raise DataError(
            f"coords must be an integer tensor, got dtype `{coords.dtype}`; "
            "voxelise first (e.g. torch.floor(pos / voxel_size).long())"
        )
    if coords.numel() == 0:
        return
    ndim = coords.shape[1] - 1
    lo = coords.amin(0).tolist()
    hi = coords.amax(0).tolist()
    if lo[0] < 0 or hi[0] >= MAX_BATCH:
        raise DataError(
            f"batch indices (coords[:, 0]) must lie in [0, {MAX_BATCH}), got `[{lo[0]}, {hi[0]}]`"
        )
    lim = coord_limit(ndim)
    if min(lo[1:]) <= -lim or max(hi[1:]) >= lim:
        raise DataError(
            f"spatial coordinates must satisfy |c| < {lim} for {ndim}D tensors, got range "
            f"`[{min(lo[1:])}, {max(hi[1:])}]`; use a larger voxel size or shift the origin"
        )


def hash_coords(coords: Tensor) -> Tensor:
    """Pack coordinate rows into int64 keys (order-preserving: keys sort like rows).

    Args:
        coords: (N, 1+D) int64, batch index in column 0.

    Returns:
        (N,) int64 keys.
    """
    ndim = coords.shape[1] - 1
    bits = coord_bits(ndim)
    c = coords.long()
    key = c[:, 0] << (bits * ndim)
    for i in range(ndim):
        key = key + ((c[:, 1 + i] + 2 ** (bits - 1)) << (bits * (ndim - 1 - i)))
    return key


def unhash_keys(keys: Tensor, ndim: int) -> Tensor:
    """Inverse of :func:`hash_coords`.

    Args:
        keys: (N,) int64 keys.
        ndim: D, the number of spatial dimensions.

    Returns:
        (N, 1+D) int64 coordinates.
    """
    bits = coord_bits(ndim)
    mask = 2**bits - 1
    cols = [keys >> (bits * ndim)]
    for i in range(ndim):
        cols.append(((keys >> (bits * (ndim - 1 - i))) & mask) - 2 ** (bits - 1))
    return torch.stack(cols, dim=1)


def kernel_offsets(
    kernel_size: Sequence[int], dilation: Sequence[int], device: torch.device | None = None
) -> Tensor:
    """Kernel offsets in the order of the flattened ``F.conv{D}d`` weight.

    Offset of kernel index ``j`` along a dimension is ``dilation * (j - (k - 1) // 2)``, i.e.
    the dense convolution with ``padding = dilation * ((k - 1) // 2)``. The last dimension
    varies fastest, as in ``weight.reshape(out, in, -1)``.

    Args:
        kernel_size: D kernel sizes.
        dilation: D dilations.
        device: where to put the result.

    Returns:
        (K, D) int64 offsets, K = prod(kernel_size).
    """
    ranges = [
        [d * (j - (k - 1) // 2) for j in range(k)] for k, d in zip(kernel_size, dilation)
    ]
    return torch.tensor(list(itertools.product(*ranges)), dtype=torch.long, device=device).reshape(
        -1, len(kernel_size)
    )


def offset_deltas(offsets: Tensor) -> Tensor:
    """Key increments of spatial offsets (batch unchanged).

    Args:
        offsets: (K, D) int64.

    Returns:
        (K,) int64 with ``hash(c + d) == hash(c) + delta(d)``.
    """
    ndim = offsets.shape[1]
    bits = coord_bits(ndim)
    delta = torch.zeros(offsets.shape[0], dtype=torch.long, device=offsets.device)
    for i in range(ndim):
        delta = delta + offsets[:, i] * 2 ** (bits * (ndim - 1 - i))  # negative-safe
    return delta
