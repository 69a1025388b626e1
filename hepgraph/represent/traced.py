"""Neighbour search as one vectorised tensor program, for traced (ONNX, TorchScript) graphs.

The search of :mod:`hepgraph.represent.neighbors` loops over events in Python (``ptr`` is
read back as integers) and may call scipy; a trace would freeze both to the trace batch.
Here every query is compared with every hit of the batch and hits of other events are
masked out, so the graph holds no Python loop and no data-dependent integer: it runs on
batches of any number of events and hits. The price is memory: (N, N) float64 distance
matrices (N = hits in the batch; 8 N^2 bytes each, 3.2 GB at N = 20,000), so deployed graph
models should be fed one event, or a few, at a time.

Edges equal those of :func:`hepgraph.represent.neighbors.knn_graph` up to the choice among
neighbours at equal distance (taken in row order here), and follow its ``source_to_target``
convention and order (by query, nearest first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from hepgraph.events.hitbatch import batch_from_ptr


def knn_graph_traced(pos: Tensor, ptr: Tensor, k: int, *, loop: bool = False) -> Tensor:
    """Directed kNN graph within each event, as a traceable dense computation.

    Neighbours at exactly equal distance (duplicate hits, voxel grids) are taken in row
    order, lower rows first, in PyTorch and in onnxruntime alike: distances are computed in
    float64 and each is raised by a tie-break far below the float32 resolution of the
    coordinates, so every row's keys are distinct and ``topk`` has a single answer.

    Args:
        pos: (N, D) coordinates, rows sorted by event.
        ptr: (B+1,) event offsets.
        k: neighbours per query (fewer when the event has fewer than ``k`` other rows).
        loop: count each row as its own neighbour.

    Returns:
        (2, E) int64 edges, row 0 = neighbour j, row 1 = query i, sorted by i then distance.

    Shapes:
        - **input:** pos (N, D), ptr (B+1,)  - **output:** (2, E), E <= N k
    """
    p = pos.detach().double()
    n = p.shape[0]
    rows = torch.arange(n, device=pos.device)
    ev = batch_from_ptr(ptr, n)
    d = (p.unsqueeze(1) - p.unsqueeze(0)).pow(2).sum(-1)  # (N, N) squared distances, float64
    other = ev.unsqueeze(1) != ev.unsqueeze(0)  # (N, N) pairs across events
    if not loop:
        other = other | (rows.unsqueeze(1) == rows.unsqueeze(0))
    inf = torch.full_like(d, float("inf"))
    # tie-break: + column * (d + 1e-30) * 2^-46, below half a float32 ulp of d for N < 2^20
    cols = rows.to(d.dtype).unsqueeze(0)
    d = torch.where(other, inf, d + cols * (d + 1e-30) * 2.0**-46)
    # k columns of +inf so that topk(k) is defined for any N (also N < k, and N = 0: taken
    # from pos, whose (N, 1) column exists when d has no column)
    d = torch.cat([d, torch.full_like(p[:, :1], float("inf")).expand(-1, k)], dim=1)  # (N, N + k)
    vals, idx = d.topk(k, dim=1, largest=False)  # (N, k) nearest first
    keep = torch.isfinite(vals)
    qi = rows.unsqueeze(1).expand_as(idx)
    return torch.stack([idx[keep], qi[keep]]).long()


_ACTIVE = [0]


@contextlib.contextmanager
def dense_knn() -> Iterator[None]:
    """Use :func:`knn_graph_traced` for every :func:`~hepgraph.represent.neighbors.knn_graph`
    call inside the block, also outside a trace (export computes its reference with it, so
    that neighbours at equal distance are the same ones as in the exported graph)."""
    _ACTIVE[0] += 1
    try:
        yield
    finally:
        _ACTIVE[0] -= 1


def active() -> bool:
    """Whether :func:`knn_graph` should take the dense path: inside a trace or :func:`dense_knn`."""
    return bool(_ACTIVE[0]) or torch.jit.is_tracing()
