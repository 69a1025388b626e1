"""Sparse convolution as gather -> batched matmul -> scatter-add, with a lean custom backward.

For each kernel offset ``j`` with pairs ``(i, o)``: ``out[o] += feats[i] @ W[j]``. The pairs
of every offset are padded to a multiple of a chunk size ``c`` and laid out one after the
other (a :class:`ConvPlan`), so one layer is three kernels whatever the kernel volume: one
``index_select`` gathering all pairs, one ``bmm`` over ``(chunks, c, C_in) @ (chunks,
C_in, C_out)`` with the weight of each chunk's offset, and one ``index_add_`` scattering the
products (padding rows land in a dummy row), in blocks of ``BLOCK_ROWS`` pairs to bound the
temporaries. The submanifold centre offset is a plain
matmul.

The backward pass re-gathers instead of saving gathered copies (memory of one layer's pair
buffer), and reduces the weight gradient chunk by chunk in a fixed order, so results are
bitwise identical with any number of threads (BLAS splits a long contraction across
threads, which would not be).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from hepgraph.sparse.backends.torch.kernel_map import KernelMap


@dataclass(frozen=True)
class ConvPlan:
    """Padded pair layout of a kernel map for one direction (gather side -> scatter side).

    Attributes:
        gather: (R,) rows of the source (padding rows point at row 0).
        scatter: (R,) rows of the destination (padding rows point at the dummy row ``n_dst``).
        chunk_offset: (R / c,) kernel offset of each chunk.
        chunk: c, rows per chunk.
        n_dst: destination rows.
    """

    gather: Tensor
    scatter: Tensor
    chunk_offset: Tensor
    chunk: int
    n_dst: int


def chunk_size(num_pairs: int) -> int:
    """Rows per chunk: small chunks waste less padding on small maps (a function of the map
    only, never of the thread count)."""
    if num_pairs < 16_384:
        return 32
    return 128 if num_pairs < 262_144 else 256


def make_plan(kmap: KernelMap, transposed: bool = False) -> ConvPlan:
    """The :class:`ConvPlan` of ``kmap`` (input -> output, or output -> input if transposed).

    Cached on the kernel map.
    """
    key = "plan_t" if transposed else "plan"
    cached = kmap.cache.get(key)
    if cached is not None:
        return cached
    src, dst = (kmap.out_idx, kmap.in_idx) if transposed else (kmap.in_idx, kmap.out_idx)
    n_dst = kmap.n_in if transposed else kmap.n_out
    dev = src.device
    c = chunk_size(src.numel())
    sizes = torch.tensor(kmap.sizes, dtype=torch.long)
    chunks = (sizes + c - 1) // c  # per offset
    padded = chunks * c
    total = int(padded.sum())
    # position of pair p (group j, rank r in group) in the padded layout
    group_start = torch.cumsum(padded, 0) - padded
    pair_start = torch.cumsum(sizes, 0) - sizes
    gid = torch.repeat_interleave(torch.arange(len(sizes)), sizes).to(dev)
    rank = torch.arange(src.numel(), device=dev) - pair_start.to(dev)[gid]
    pos = group_start.to(dev)[gid] + rank
    gather = torch.zeros(total, dtype=torch.long, device=dev)
    scatter = torch.full((total,), n_dst, dtype=torch.long, device=dev)
    gather[pos] = src
    scatter[pos] = dst
    chunk_offset = torch.repeat_interleave(torch.arange(len(sizes)), chunks).to(dev)
    plan = ConvPlan(gather, scatter, chunk_offset, c, n_dst)
    kmap.cache[key] = plan
    return plan


# Pair rows processed per block (a multiple of every chunk size): caps the gathered and
# product buffers at BLOCK_ROWS x C whatever the number of sites.
BLOCK_ROWS = 2**16


def _blocks(plan: ConvPlan) -> list[tuple[int, int]]:
    total = plan.gather.numel()
    return [(lo, min(lo + BLOCK_ROWS, total)) for lo in range(0, total, BLOCK_ROWS)]


def _acc(dtype: torch.dtype) -> torch.dtype:
    """Accumulate half-precision products in float32 (as dense convolutions do)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _apply(src: Tensor, weight: Tensor, plan: ConvPlan, identity: int | None) -> Tensor:
    """``dst[scatter] += src[gather] @ weight[offset]`` (plus the identity offset).

    Args:
        src: (N_src, A).
        weight: (K, A, B).
        plan: the padded layout.
        identity: offset applied row-to-row (N_src == n_dst), or None.

    Returns:
        (n_dst, B) in the accumulation dtype.
    """
    a, b = weight.shape[1], weight.shape[2]
    acc = _acc(src.dtype)
    out = src.new_zeros((plan.n_dst + 1, b), dtype=acc)  # last row: padding sink
    if identity is not None:
        out[:-1] = torch.mm(src, weight[identity])
    for lo, hi in _blocks(plan):  # bounded temporaries: one block of pairs at a time
        g = src.index_select(0, plan.gather[lo:hi]).view(-1, plan.chunk, a)  # (chunks, c, A)
        w = weight.index_select(0, plan.chunk_offset[lo // plan.chunk : hi // plan.chunk])
        prod = torch.bmm(g, w).view(-1, b)  # (rows, B)
        out.index_add_(0, plan.scatter[lo:hi], prod.to(acc))
    return out[:-1]


def _det_atb(a: Tensor, b: Tensor, c: int) -> Tensor:
    """``a^T @ b`` over a long contraction, reduced chunk by chunk in a fixed order."""
    n, q = a.shape[0], a.shape[0] // c
    ca, cb = a.shape[1], b.shape[1]
    parts = [torch.bmm(a[: q * c].view(q, c, ca).transpose(1, 2), b[: q * c].view(q, c, cb))]
    if n > q * c:
        parts.append((a[q * c :].t() @ b[q * c :]).unsqueeze(0))
    p = torch.cat(parts)
    idx = torch.zeros(p.shape[0], dtype=torch.long, device=a.device)
    return a.new_zeros((1, a.shape[1], b.shape[1])).index_add_(0, idx, p)[0]


class SparseConvFunction(torch.autograd.Function):
    """Autograd Function of :func:`sparse_conv` (weight layout (K, C_in, C_out))."""

    @staticmethod
    def forward(ctx: Any, feats: Tensor, weight: Tensor, kmap: KernelMap) -> Tensor:  # noqa: D102
        ctx.save_for_backward(feats, weight)
        ctx.kmap = kmap
        return _apply(feats, weight, make_plan(kmap), kmap.identity).to(feats.dtype)

    @staticmethod
    def backward(  # noqa: D102
        ctx: Any, grad_out: Tensor
    ) -> tuple[Tensor | None, Tensor | None, None]:
        feats, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        grad_out = grad_out.contiguous().to(feats.dtype)
        grad_feats = grad_weight = None
        if ctx.needs_input_grad[0]:
            plan_t = make_plan(kmap, transposed=True)
            grad_feats = _apply(grad_out, weight.transpose(1, 2), plan_t, kmap.identity)
            grad_feats = grad_feats.to(feats.dtype)
        if ctx.needs_input_grad[1]:
            plan = make_plan(kmap)
            a, b = feats.shape[1], grad_out.shape[1]
            grad_weight = feats.new_zeros(weight.shape, dtype=_acc(feats.dtype))
            go = torch.cat([grad_out, grad_out.new_zeros(1, b)])  # padding rows -> zeros
            for lo, hi in _blocks(plan):
                gs = feats.index_select(0, plan.gather[lo:hi]).view(-1, plan.chunk, a)
                gg = go.index_select(0, plan.scatter[lo:hi]).view(-1, plan.chunk, b)
                part = torch.bmm(gs.transpose(1, 2), gg)  # (chunks, A, B)
                grad_weight.index_add_(
                    0, plan.chunk_offset[lo // plan.chunk : hi // plan.chunk],
                    part.to(grad_weight.dtype),
                )
            if kmap.identity is not None and feats.shape[0]:
                grad_weight[kmap.identity] += _det_atb(feats, grad_out, plan.chunk)
            grad_weight = grad_weight.to(weight.dtype)
        return grad_feats, grad_weight, None


def sparse_conv(
    feats: Tensor, weight: Tensor, kmap: KernelMap, bias: Tensor | None = None
) -> Tensor:
    """Apply a sparse convolution given its kernel map.

    Under ``torch.autocast`` the matmuls run in the autocast dtype (as ``F.conv3d`` does),
    accumulating in float32; the output has the autocast dtype.

    Args:
        feats: (N_in, C_in) input features.
        weight: (K, C_in, C_out) weight, offset order of ``kmap``.
        kmap: the kernel map (use ``kmap.transposed()`` for a transposed convolution).
        bias: optional (C_out,).

    Returns:
        (N_out, C_out) output features.
    """
    device_type = feats.device.type
    if torch.is_autocast_enabled(device_type):
        dtype = torch.get_autocast_dtype(device_type)
        with torch.autocast(device_type, enabled=False):
            out = SparseConvFunction.apply(feats.to(dtype), weight.to(dtype), kmap)
            if bias is not None:
                out = out + bias.to(dtype)
        return out
    if weight.dtype != feats.dtype:
        weight = weight.to(feats.dtype)
    out = SparseConvFunction.apply(feats.contiguous(), weight.contiguous(), kmap)
    if bias is not None:
        out = out + bias
    return out
