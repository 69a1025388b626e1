"""Sparse convolution as gather -> matmul -> scatter-add, with a lean custom backward.

For each kernel offset ``j`` with pairs ``(i, o)``: ``out[o] += feats[i] @ W[j]``. All pairs
are gathered in one ``index_select``, multiplied offset by offset into one buffer, and
scattered in one ``index_add_``. The submanifold centre offset is a plain matmul.

The autograd Function saves only the input features, the weight and the kernel map (no
gathered copies): the backward pass re-gathers, which costs little and keeps peak memory at
the size of one layer's pair buffer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hepgraph.sparse.functional.kernel_map import KernelMap


def _acc(dtype: torch.dtype) -> torch.dtype:
    """Accumulate half-precision products in float32 (as dense convolutions do)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _apply_map(
    src: Tensor,
    weight: Tensor,
    gather_idx: Tensor,
    scatter_idx: Tensor,
    sizes: tuple[int, ...],
    identity: int | None,
    n_out: int,
    acc_dtype: torch.dtype,
) -> Tensor:
    """``out[scatter] += src[gather] @ weight[j]`` per offset group (plus identity).

    Args:
        src: (N_src, A).
        weight: (K, A, B).
        gather_idx: (P,) rows of ``src``.
        scatter_idx: (P,) rows of the output.
        sizes: K group sizes.
        identity: offset applied row-to-row without stored pairs, or None.
        n_out: output rows (equals N_src when ``identity`` is set).
        acc_dtype: accumulation dtype of the output.

    Returns:
        (n_out, B) in ``acc_dtype``.
    """
    b = weight.shape[2]
    if identity is not None:
        out = torch.mm(src, weight[identity]).to(acc_dtype)
    else:
        out = src.new_zeros((n_out, b), dtype=acc_dtype)
    p = gather_idx.numel()
    if p == 0:
        return out
    gathered = src.index_select(0, gather_idx)  # (P, A)
    prod = src.new_empty((p, b))
    start = 0
    for j, n in enumerate(sizes):
        if n:
            torch.mm(gathered[start : start + n], weight[j], out=prod[start : start + n])
            start += n
    out.index_add_(0, scatter_idx, prod.to(acc_dtype))
    return out


# Rows per partial product of the weight gradient. BLAS splits a long contraction across
# threads, which makes the sum depend on the thread count; fixed-size chunks (one batched
# matmul) summed in a fixed order give the same bits with any number of threads.
WGRAD_CHUNK = 256


def _weight_grad(src: Tensor, grad_out: Tensor, kmap: KernelMap) -> Tensor:
    """(K, A, B) weight gradient ``sum over pairs (i, o) of offset j: src[i]^T grad_out[o]``.

    Deterministic across thread counts (see ``WGRAD_CHUNK``).
    """
    k, a, b = len(kmap.sizes), src.shape[1], grad_out.shape[1]
    dev = src.device
    sizes = list(kmap.sizes)
    in_idx, out_idx = kmap.in_idx, kmap.out_idx
    if kmap.identity is not None:  # the centre's pairs (i, i) as one more group
        ar = torch.arange(kmap.n_in, device=dev)
        sizes[kmap.identity] = kmap.n_in
        start = sum(kmap.sizes[: kmap.identity])
        in_idx = torch.cat([in_idx[:start], ar, in_idx[start:]])
        out_idx = torch.cat([out_idx[:start], ar, out_idx[start:]])
    gw = src.new_zeros((k, a, b))
    if in_idx.numel() == 0:
        return gw
    c = WGRAD_CHUNK
    chunks = [-(-n // c) for n in sizes]  # ceil
    # padded row layout: each group padded to a multiple of c; pad rows point at row 0
    # of src and are zeroed on the grad side.
    rows, group, start = [], [], 0
    for j, (n, m) in enumerate(zip(sizes, chunks)):
        if n:
            r = torch.full((m * c,), -1, dtype=torch.long, device=dev)
            r[:n] = torch.arange(start, start + n, device=dev)
            rows.append(r)
            group.append(torch.full((m,), j, dtype=torch.long, device=dev))
        start += n
    rows_t = torch.cat(rows)
    pad = rows_t < 0
    rows_t = rows_t.clamp(min=0)
    gs = src.index_select(0, in_idx[rows_t])  # (R, A)
    gg = grad_out.index_select(0, out_idx[rows_t])  # (R, B)
    gg[pad] = 0
    part = torch.bmm(gs.view(-1, c, a).transpose(1, 2), gg.view(-1, c, b))  # (chunks, A, B)
    gw.index_add_(0, torch.cat(group), part)
    return gw


class SparseConvFunction(torch.autograd.Function):
    """Autograd Function of :func:`sparse_conv` (weight layout (K, C_in, C_out))."""

    @staticmethod
    def forward(ctx: Any, feats: Tensor, weight: Tensor, kmap: KernelMap) -> Tensor:  # noqa: D102
        ctx.save_for_backward(feats, weight)
        ctx.kmap = kmap
        return _apply_map(
            feats, weight, kmap.in_idx, kmap.out_idx, kmap.sizes, kmap.identity, kmap.n_out,
            _acc(feats.dtype),
        ).to(feats.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None]:  # noqa: D102
        feats, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        grad_out = grad_out.contiguous().to(feats.dtype)
        grad_feats = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_feats = _apply_map(
                grad_out, weight.transpose(1, 2), kmap.out_idx, kmap.in_idx, kmap.sizes,
                kmap.identity, kmap.n_in, _acc(feats.dtype),
            ).to(feats.dtype)
        if ctx.needs_input_grad[1]:
            grad_weight = _weight_grad(feats, grad_out, kmap)
        return grad_feats, grad_weight, None


def sparse_conv(feats: Tensor, weight: Tensor, kmap: KernelMap, bias: Tensor | None = None) -> Tensor:
    """Apply a sparse convolution given its kernel map.

    Under ``torch.autocast`` the matmuls run in the autocast dtype (as ``F.conv3d`` does);
    the output has that dtype.

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
