"""Sparse convolution as gather -> one GEMM per kernel offset -> scatter-add, and its backward.

For each kernel offset ``j`` with pairs ``(i, o)``: ``out[o] += feats[i] @ W[j]``. A
:class:`ConvPlan` lays the pairs out as *segments*, each one ``torch.bmm``:

- a large offset gets its own segment(s): its rows split into ``q >= 2`` equal chunks
  (padded by fewer than ``q`` rows) multiplied by ``W[j].expand(q, C_in, C_out)``, a
  stride-0 view: the weight is never copied;
- offsets whose GEMM is too small to be worth a kernel launch each (few pairs, narrow
  weights) are batched: each padded to the group's largest pair count and multiplied by
  their ``G`` weight matrices (one copy of ``G x C_in x C_out`` per call, only for weights
  of at most ``GROUP_MAX_WEIGHT`` entries).

The choice is made per layer from its pair counts and channels (:func:`make_plan`). The
submanifold centre is a plain row-to-row product written straight into the output. Padding
rows gather row 0 and scatter into a dummy row past the end.

Every product is a ``bmm`` with at least two batch entries: ATen runs those batch entry by
batch entry, each GEMM on one thread, so every output element is summed in the same order
whatever the thread count (a plain ``mm`` may split or tile differently with the thread
count and the data's alignment). The weight gradient, a long contraction over pairs, is
reduced chunk by chunk in a fixed order for the same reason; scatter-adds use
``index_add_``, which adds the rows of a destination in index order. Results are therefore
bitwise identical with any number of CPU threads. The backward pass re-gathers instead of
saving gathered copies (memory of one segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from hepgraph.sparse.backends.torch.kernel_map import KernelMap

# Rows of one segment at most: bounds the gathered and product buffers at BLOCK_ROWS x C.
BLOCK_ROWS = 2**16
# Rows per bmm batch entry that large offsets aim for, and the bounds on their number.
CHUNK_ROWS = 4096
MIN_CHUNKS, MAX_CHUNKS = 2, 32
# Offsets with at most this many multiply-adds (pairs x C_in x C_out, ~1-2 ms of GEMM on one
# core) are batched together, when the weight has at most GROUP_MAX_WEIGHT entries (its copy
# must stay cheap): a separate GEMM is three more kernel launches, and on a busy machine each
# parallel launch can wait milliseconds for a descheduled thread (measured in
# docs/benchmarks.md: grouping every small offset made a sparse-resnet18 step 2.6x faster
# there than one GEMM per offset).
SMALL_MACS = 2**25
GROUP_MAX_WEIGHT = 2**17


@dataclass(frozen=True)
class Segment:
    """One ``bmm`` of the plan: rows ``[lo, hi)`` of the padded layout.

    Attributes:
        lo, hi: rows of the padded layout.
        chunks: q, the bmm batch size (``hi - lo == q * c``).
        offset: the kernel offset of every chunk (weight used through a stride-0 view), or
            None for a group of offsets.
        group: (q,) kernel offset of each chunk of a group (None for a single offset).
        rows: real (unpadded) rows: one count for a single offset (the padding is the
            segment's tail), one per chunk for a group (each chunk's tail is padding).
    """

    lo: int
    hi: int
    chunks: int
    offset: int | None
    group: Tensor | None
    rows: tuple[int, ...]


@dataclass(frozen=True)
class ConvPlan:
    """Padded pair layout of a kernel map for one direction (gather side -> scatter side).

    Attributes:
        gather: (R,) rows of the source (padding rows point at row 0).
        scatter: (R,) rows of the destination (padding rows point at the dummy row ``n_dst``).
        segments: the bmm segments, in order.
        n_dst: destination rows.
    """

    gather: Tensor
    scatter: Tensor
    segments: tuple[Segment, ...]
    n_dst: int


def _chunks(rows: int) -> int:
    """Batch entries for a segment of ``rows`` pairs (a function of the size only)."""
    return max(MIN_CHUNKS, min(MAX_CHUNKS, -(-rows // CHUNK_ROWS)))


def _layout(sizes: list[int], macs_per_row: int, weight_entries: int) -> list[tuple]:
    """Segments as ``(kind, offsets, rows_per_offset, chunks)`` in layout order.

    ``kind`` is ``"one"`` (one offset, ``chunks`` entries of ``rows_per_offset / chunks``
    rows; an offset may span several segments) or ``"group"`` (one entry per offset, each
    padded to ``rows_per_offset``).
    """
    small, out = [], []
    may_group = weight_entries <= GROUP_MAX_WEIGHT
    for j, p in enumerate(sizes):
        if p == 0:
            continue
        if may_group and p * macs_per_row <= SMALL_MACS:
            small.append(j)
            continue
        for lo in range(0, p, BLOCK_ROWS):
            rows = min(BLOCK_ROWS, p - lo)
            q = _chunks(rows)
            out.append(("one", (j,), rows, q))
    small.sort(key=lambda j: -sizes[j])
    i = 0
    while i < len(small):  # greedy: largest first, stop where padding would exceed the rows
        c = sizes[small[i]]
        g = [small[i]]
        total = c
        while i + len(g) < len(small):
            p = sizes[small[i + len(g)]]
            rows = (len(g) + 1) * c
            if rows > BLOCK_ROWS or rows - (total + p) > max(total + p, 256):
                break
            g.append(small[i + len(g)])
            total += p
        i += len(g)
        if len(g) == 1:
            out.append(("one", (g[0],), c, _chunks(c)))
        else:
            out.append(("group", tuple(g), c, len(g)))
    return out


def make_plan(kmap: KernelMap, channels: tuple[int, int], transposed: bool = False) -> ConvPlan:
    """The :class:`ConvPlan` of ``kmap`` for a ``C_in x C_out`` weight (cached on the map).

    Args:
        kmap: the kernel map.
        channels: (C_in, C_out) of the forward convolution (the layout depends on their
            product only, so a transposed plan of the same layer shares it, and so do other
            layers on the same map whose layout comes out the same).
        transposed: lay out output -> input (for the input gradient / transposed conv).

    Returns:
        The plan.
    """
    ab = int(channels[0]) * int(channels[1])
    sizes = list(kmap.sizes)
    layout = tuple(_layout(sizes, ab, ab))
    key = ("plan", transposed, layout)  # layers whose layout agrees share the plan
    cached = kmap.cache.get(key)
    if cached is not None:
        return cached
    src, dst = (kmap.out_idx, kmap.in_idx) if transposed else (kmap.in_idx, kmap.out_idx)
    n_dst = kmap.n_in if transposed else kmap.n_out
    dev = src.device
    starts = [0]
    for s in sizes:
        starts.append(starts[-1] + s)
    pieces = []  # (first pair, pairs, first padded row): pairs map to consecutive rows
    segments = []
    done = [0] * len(sizes)  # pairs of each offset already laid out
    row = 0
    for kind, offs, rows, q in layout:
        lo = row
        if kind == "one":
            j = offs[0]
            pieces.append((starts[j] + done[j], rows, lo))
            done[j] += rows
            row += q * -(-rows // q)
            segments.append(Segment(lo, row, q, j, None, (rows,)))
        else:
            for g, j in enumerate(offs):
                pieces.append((starts[j], sizes[j], lo + g * rows))
            row += len(offs) * rows
            group = torch.tensor(offs, dtype=torch.long, device=dev)
            segments.append(Segment(lo, row, q, None, group, tuple(sizes[j] for j in offs)))
    gather = torch.zeros(row, dtype=torch.long, device=dev)
    scatter = torch.full((row,), n_dst, dtype=torch.long, device=dev)
    if pieces:
        pieces.sort()  # pair order: then pair p goes to row p + (first row - first pair)
        shift = torch.tensor([r - f for f, _, r in pieces], dtype=torch.long)
        lens = torch.tensor([n for _, n, _ in pieces], dtype=torch.long)
        pos = torch.arange(src.numel(), device=dev) + torch.repeat_interleave(shift, lens).to(dev)
        gather[pos] = src
        scatter[pos] = dst
    plan = ConvPlan(gather, scatter, tuple(segments), n_dst)
    kmap.cache[key] = plan
    return plan


def _acc(dtype: torch.dtype) -> torch.dtype:
    """Accumulate half-precision products in float32 (as dense convolutions do)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _seg_weight(weight: Tensor, seg: Segment, a: int, b: int) -> Tensor:
    if seg.offset is not None:
        return weight[seg.offset].expand(seg.chunks, a, b)  # stride-0 view, no copy
    return weight.index_select(0, seg.group)  # (G, A, B): small by construction


def rows_mm(x: Tensor, w: Tensor, out: Tensor) -> None:
    """``out = x @ w`` (``x`` (M, A), ``w`` (A, B)) as bmm's of >= 2 entries (thread-count
    independent bits); ``out`` (M, B) contiguous."""
    m, a = x.shape
    b = w.shape[1]
    q = _chunks(m)
    c = m // q
    if c:
        main = q * c
        torch.bmm(x[:main].view(q, c, a), w.expand(q, a, b), out=out[:main].view(q, c, b))
    rest = m - q * c
    if rest:  # fewer than q rows: one row per entry (at least two entries)
        xr = x[m - rest :]
        if rest == 1:
            xr = xr.expand(2, a)
        res = torch.bmm(xr.unsqueeze(1), w.expand(xr.shape[0], a, b))
        out[m - rest :] = res[:rest, 0]


def _apply(src: Tensor, weight: Tensor, plan: ConvPlan, identity: int | None) -> Tensor:
    """``dst[scatter] += src[gather] @ weight[offset]`` (plus the identity offset).

    Args:
        src: (N_src, A).
        weight: (K, A, B) (any strides).
        plan: the padded layout.
        identity: offset applied row-to-row (N_src == n_dst), or None.

    Returns:
        (n_dst, B) in the accumulation dtype.
    """
    a, b = weight.shape[1], weight.shape[2]
    acc = _acc(src.dtype)
    out = src.new_zeros((plan.n_dst + 1, b), dtype=acc)  # last row: padding sink
    if identity is not None and src.shape[0]:
        if acc == src.dtype:
            rows_mm(src, weight[identity], out[:-1])
        else:
            tmp = src.new_empty((src.shape[0], b))
            rows_mm(src, weight[identity], tmp)
            out[:-1] = tmp
    for seg in plan.segments:
        q = seg.chunks
        g = src.index_select(0, plan.gather[seg.lo : seg.hi]).view(q, -1, a)
        prod = torch.bmm(g, _seg_weight(weight, seg, a, b)).view(-1, b)
        out.index_add_(0, plan.scatter[seg.lo : seg.hi], prod.to(acc))
    return out[:-1]


def _atb_into(grad_w: Tensor, index: Tensor, a: Tensor, b: Tensor) -> None:
    """``grad_w[index[e]] += a_e^T @ b_e`` for the bmm entries ``e`` of (q, c, A), (q, c, B),
    added in entry order."""
    part = torch.bmm(a.transpose(1, 2), b)  # (q, A, B)
    grad_w.index_add_(0, index, part.to(grad_w.dtype))


def _weight_grad(feats: Tensor, grad_out: Tensor, weight_shape: torch.Size, plan: ConvPlan,
                 identity: int | None) -> Tensor:
    a, b = feats.shape[1], grad_out.shape[1]
    dev = feats.device
    grad_w = feats.new_zeros(weight_shape, dtype=_acc(feats.dtype))
    n_out = grad_out.shape[0]
    for seg in plan.segments:
        q = seg.chunks
        gs = feats.index_select(0, plan.gather[seg.lo : seg.hi])
        if seg.group is None:
            gs[seg.rows[0] :] = 0  # padding rows (the tail)
        else:
            c = (seg.hi - seg.lo) // q
            real = torch.tensor(seg.rows, device=dev).unsqueeze(1)  # (G, 1)
            pad = torch.arange(c, device=dev).unsqueeze(0) >= real  # (G, c)
            gs.view(q, c, a).masked_fill_(pad.unsqueeze(2), 0)
        gg = grad_out.index_select(0, plan.scatter[seg.lo : seg.hi].clamp(max=max(n_out - 1, 0)))
        index = seg.group if seg.group is not None else torch.full(
            (q,), seg.offset, dtype=torch.long, device=dev)
        _atb_into(grad_w, index, gs.view(q, -1, a), gg.view(q, -1, b))
    m = feats.shape[0]
    if identity is not None and m:
        q = _chunks(m)
        c = m // q
        if c:
            idx = torch.full((q,), identity, dtype=torch.long, device=dev)
            _atb_into(grad_w, idx, feats[: q * c].view(q, c, a), grad_out[: q * c].view(q, c, b))
        rest = m - q * c
        if rest:  # one row per entry, two entries at least (a zero row pads a single one)
            fa, fb = feats[q * c :], grad_out[q * c :]
            if rest == 1:
                fa = torch.cat([fa, fa.new_zeros(1, a)])
                fb = torch.cat([fb, fb.new_zeros(1, b)])
            idx = torch.full((fa.shape[0],), identity, dtype=torch.long, device=dev)
            _atb_into(grad_w, idx, fa.unsqueeze(1), fb.unsqueeze(1))
    return grad_w


class SparseConvFunction(torch.autograd.Function):
    """Autograd Function of :func:`sparse_conv` (weight layout (K, C_in, C_out))."""

    @staticmethod
    def forward(ctx: Any, feats: Tensor, weight: Tensor, kmap: KernelMap) -> Tensor:  # noqa: D102
        ctx.save_for_backward(feats, weight)
        ctx.kmap = kmap
        plan = make_plan(kmap, (weight.shape[1], weight.shape[2]))
        return _apply(feats, weight, plan, kmap.identity).to(feats.dtype)

    @staticmethod
    def backward(  # noqa: D102
        ctx: Any, grad_out: Tensor
    ) -> tuple[Tensor | None, Tensor | None, None]:
        feats, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        grad_out = grad_out.contiguous().to(feats.dtype)
        channels = (weight.shape[1], weight.shape[2])
        grad_feats = grad_weight = None
        if ctx.needs_input_grad[0]:
            plan_t = make_plan(kmap, channels, transposed=True)
            wt = weight.transpose(1, 2).contiguous()  # (K, B, A): one copy per backward
            grad_feats = _apply(grad_out, wt, plan_t, kmap.identity).to(feats.dtype)
        if ctx.needs_input_grad[1]:
            plan = make_plan(kmap, channels)
            grad_weight = _weight_grad(feats, grad_out, weight.shape, plan, kmap.identity)
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
