"""Shared helpers for the sparse tests: devices, random sparse inputs, dense references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepgraph.sparse import SparseTensor

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ],
    ),
]


def random_coords(
    ndim: int,
    size: int,
    counts: list[int],
    *,
    border: bool = True,
    seed: int = 0,
    device: str = "cpu",
) -> torch.Tensor:
    """Unique random sites in ``[0, size)^ndim`` with ``counts[b]`` sites in batch entry b.

    With ``border`` the two corners of each non-empty entry are included.
    """
    g = torch.Generator().manual_seed(seed)
    rows = []
    for b, n in enumerate(counts):
        if n == 0:
            continue
        lin = torch.randperm(size**ndim, generator=g)[:n]
        if border and n >= 2:
            lin[0], lin[1] = 0, size**ndim - 1
            lin = torch.unique(lin)
        idx = [(lin // size ** (ndim - 1 - i)) % size for i in range(ndim)]
        rows.append(torch.stack([torch.full_like(lin, b), *idx], 1))
    if not rows:
        return torch.empty(0, 1 + ndim, dtype=torch.long, device=device)
    return torch.cat(rows).to(device)


def random_tensor(
    ndim: int,
    size: int,
    counts: list[int],
    channels: int,
    *,
    seed: int = 0,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    stride: int = 1,
) -> SparseTensor:
    """SparseTensor with random features on :func:`random_coords` sites (leaf feats)."""
    coords = random_coords(ndim, size, counts, seed=seed, device=device)
    g = torch.Generator().manual_seed(seed + 1)
    feats = torch.randn(coords.shape[0], channels, generator=g, dtype=dtype).to(device)
    feats.requires_grad_(True)
    return SparseTensor(coords, feats, stride, batch_size=len(counts))


def at_sites(dense: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """(N, C) values of a dense (B, C, *spatial) tensor at the coordinate rows."""
    return dense.movedim(1, -1)[tuple(coords.t())]


def conv_nd(ndim: int):
    """``F.conv2d`` or ``F.conv3d``."""
    return F.conv2d if ndim == 2 else F.conv3d


def conv_transpose_nd(ndim: int):
    """``F.conv_transpose2d`` or ``F.conv_transpose3d``."""
    return F.conv_transpose2d if ndim == 2 else F.conv_transpose3d


def dense_transpose(y, weight, k: int, s: int, dil: int, out_size: int) -> torch.Tensor:
    """``F.conv_transpose`` of the dense (B, C, *spatial) ``y`` cropped/padded to ``out_size``."""
    ndim = y.dim() - 2
    pad = dil * ((k - 1) // 2)
    full = (y.shape[2] - 1) * s - 2 * pad + dil * (k - 1) + 1
    op = out_size - full
    out = conv_transpose_nd(ndim)(
        y, weight, stride=s, padding=pad, dilation=dil, output_padding=max(op, 0)
    )
    if op < 0:
        out = out[(slice(None), slice(None), *([slice(0, out_size)] * ndim))]
    return out
