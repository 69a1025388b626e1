"""Batched k-nearest-neighbour and radius search that never crosses event boundaries.

Two backends give identical graphs (up to ties in distance):

- ``"torch"``: pure PyTorch, CPU and GPU. Rows are sorted by event (``ptr`` offsets); each
  event's queries are processed in chunks of ``chunk`` rows against that event's points only,
  so memory is O(chunk * N_event), never O(N^2) for a whole batch.
- ``"kdtree"``: :class:`scipy.spatial.cKDTree` per event (CPU only, low dimensions), faster
  than the torch path on CPU (2 x 30k points: 126 ms vs 206 ms on the development machine).

``backend="auto"`` picks the k-d tree for CPU tensors with at most 8 dimensions and torch
otherwise (GPU tensors, or feature-space neighbourhoods of dynamic graph models).

Edges follow the PyG ``source_to_target`` convention: ``edge_index[0]`` is the neighbour
``j`` (source), ``edge_index[1]`` the query ``i`` (target). Indices are global rows.

>>> pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [0, 0, 0], [2, 0, 0]])
>>> ptr = torch.tensor([0, 3, 5])
>>> knn_graph(pos, ptr, k=1).tolist()
[[1, 0, 1, 4, 3], [0, 1, 2, 3, 4]]
"""

from __future__ import annotations

import torch
from torch import Tensor

from hepgraph.errors import ConfigError

BACKENDS = ("auto", "torch", "kdtree")


def _check(k: int | None, backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"neighbour backend `{backend}` is unknown; use one of {', '.join(BACKENDS)}")
    if k is not None and k < 1:
        raise ConfigError(f"k=`{k}` must be a positive integer")


def _use_kdtree(pos: Tensor, backend: str) -> bool:
    if backend == "auto":
        return pos.device.type == "cpu" and pos.shape[1] <= 8 and not pos.requires_grad
    return backend == "kdtree"


def _events(ptr: Tensor) -> list[tuple[int, int]]:
    p = ptr.tolist()
    return [(p[i], p[i + 1]) for i in range(len(p) - 1) if p[i + 1] > p[i]]


def knn_graph(
    pos: Tensor,
    ptr: Tensor,
    k: int,
    *,
    loop: bool = False,
    backend: str = "auto",
    chunk: int = 2048,
) -> Tensor:
    """Directed kNN graph within each event.

    Args:
        pos: (N, D) coordinates (mm, or any feature space); rows sorted by event.
        ptr: (B+1,) event offsets.
        k: neighbours per query (fewer when an event has fewer than ``k`` other points).
        loop: include each point as its own neighbour.
        backend: ``auto``, ``torch`` or ``kdtree``.
        chunk: query rows per distance block (torch backend); memory O(chunk * N_event).

    Returns:
        (2, E) int64 edge index; row 0 = neighbour j, row 1 = query i, sorted by i then
        by distance.

    Shapes:
        - **input:** pos (N, D), ptr (B+1,)  - **output:** (2, E) with E <= N * k
    """
    _check(k, backend)
    from hepgraph.represent import traced

    if traced.active():  # export: one graph for any batch (hepgraph.represent.traced)
        return traced.knn_graph_traced(pos, ptr, k, loop=loop)
    pos = pos.detach()
    if _use_kdtree(pos, backend):
        return _knn_kdtree(pos, ptr, k, loop)
    rows, cols = [], []
    for start, end in _events(ptr):
        n = end - start
        kk = min(k + (0 if loop else 1), n)
        p = pos[start:end]
        if p.is_cuda:
            # The matmul form of cdist is ~150x faster on GPUs; centring the event keeps its
            # cancellation error small, and the chosen neighbours are re-sorted exactly.
            p = p - p.mean(0)
        for c0 in range(0, n, chunk):
            q = p[c0 : c0 + chunk]
            if p.is_cuda:
                idx = torch.cdist(q, p).topk(kk, dim=1, largest=False).indices  # (c, kk)
                exact = (p[idx] - q.unsqueeze(1)).pow(2).sum(-1)  # (c, kk)
                idx = idx.gather(1, exact.argsort(dim=1, stable=True))  # nearest first
            else:
                d = torch.cdist(q, p, compute_mode="donot_use_mm_for_euclid_dist")  # (c, n)
                idx = d.topk(kk, dim=1, largest=False).indices  # (c, kk), nearest first
            qi = torch.arange(c0, c0 + q.shape[0], device=pos.device).unsqueeze(1).expand_as(idx)
            if not loop:
                # drop the query itself; ties at distance 0 keep the other point
                keep = idx != qi
                first_k = keep.cumsum(1) <= k
                keep &= first_k
                idx, qi = idx[keep], qi[keep]
            rows.append(idx.reshape(-1) + start)
            cols.append(qi.reshape(-1) + start)
    if not rows:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.stack([torch.cat(rows), torch.cat(cols)]).long()


def _knn_kdtree(pos: Tensor, ptr: Tensor, k: int, loop: bool) -> Tensor:
    import numpy as np
    from scipy.spatial import cKDTree

    p_all = pos.double().numpy()
    rows, cols = [], []
    for start, end in _events(ptr):
        n = end - start
        kk = min(k + (0 if loop else 1), n)
        p = p_all[start:end]
        tree = cKDTree(p)
        order = tree.indices  # querying in tree order is ~2x faster (cache locality)
        _, idx_t = tree.query(p[order], k=kk, workers=-1)
        idx = np.empty((n, kk), dtype=np.int64)
        idx[order] = idx_t.reshape(n, kk)
        qi = np.broadcast_to(np.arange(n)[:, None], idx.shape)
        if not loop:
            keep = idx != qi
            keep &= np.cumsum(keep, axis=1) <= k
            idx, qi = idx[keep], qi[keep]
        rows.append(idx.reshape(-1) + start)
        cols.append(qi.reshape(-1) + start)
    if not rows:
        return torch.zeros(2, 0, dtype=torch.long)
    return torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)]).astype(np.int64))


def radius_graph(
    pos: Tensor,
    ptr: Tensor,
    r: float,
    *,
    max_num_neighbors: int | None = 32,
    loop: bool = False,
    backend: str = "auto",
    chunk: int = 2048,
) -> Tensor:
    """Directed radius graph within each event: edges j -> i for ``|p_i - p_j| <= r``.

    Args:
        pos: (N, D) coordinates (mm); rows sorted by event.
        ptr: (B+1,) event offsets.
        r: radius (same unit as ``pos``).
        max_num_neighbors: keep at most this many neighbours per query, the nearest ones
            (``None`` = all).
        loop: include self-edges.
        backend: ``auto``, ``torch`` or ``kdtree``.
        chunk: query rows per distance block (torch backend).

    Returns:
        (2, E) int64 edge index (row 0 = neighbour, row 1 = query), sorted by query.

    Shapes:
        - **input:** pos (N, D), ptr (B+1,)  - **output:** (2, E)
    """
    _check(max_num_neighbors, backend)
    if r <= 0:
        raise ConfigError(f"radius r=`{r}` must be positive (mm)")
    pos = pos.detach()
    if _use_kdtree(pos, backend):
        return _radius_kdtree(pos, ptr, r, max_num_neighbors, loop)
    rows, cols = [], []
    for start, end in _events(ptr):
        n = end - start
        p = pos[start:end]
        for c0 in range(0, n, chunk):
            q = p[c0 : c0 + chunk]
            d = torch.cdist(q, p, compute_mode="donot_use_mm_for_euclid_dist")  # (c, n)
            qi = torch.arange(c0, c0 + q.shape[0], device=pos.device)
            if not loop:
                d[torch.arange(q.shape[0], device=pos.device), qi] = float("inf")
            within = d <= r
            if max_num_neighbors is not None and max_num_neighbors < n:
                # rank neighbours by distance; keep the nearest max_num_neighbors
                top = d.topk(max_num_neighbors, dim=1, largest=False)
                ok = top.values <= r
                j, i = top.indices[ok], qi.unsqueeze(1).expand_as(top.indices)[ok]
            else:
                ii, j = within.nonzero(as_tuple=True)
                i = qi[ii]
            rows.append(j + start)
            cols.append(i + start)
    if not rows:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.stack([torch.cat(rows), torch.cat(cols)]).long()


def _radius_kdtree(pos: Tensor, ptr: Tensor, r: float, max_n: int | None, loop: bool) -> Tensor:
    import numpy as np
    from scipy.spatial import cKDTree

    p_all = pos.double().numpy()
    rows, cols = [], []
    for start, end in _events(ptr):
        n = end - start
        p = p_all[start:end]
        tree = cKDTree(p)
        if max_n is None or max_n + 1 >= n:
            pairs = tree.query_pairs(r, output_type="ndarray")  # (P, 2), i < j
            i = np.concatenate([pairs[:, 0], pairs[:, 1]])
            j = np.concatenate([pairs[:, 1], pairs[:, 0]])
            if loop:
                i = np.concatenate([i, np.arange(n)])
                j = np.concatenate([j, np.arange(n)])
            if max_n is not None:
                order = np.lexsort((np.linalg.norm(p[i] - p[j], axis=1), i))
                i, j = i[order], j[order]
                rank = np.arange(len(i)) - np.searchsorted(i, i)
                keep = rank < max_n
                i, j = i[keep], j[keep]
        else:
            order = tree.indices
            dist_t, idx_t = tree.query(
                p[order], k=max_n + 1, distance_upper_bound=r * (1 + 1e-12), workers=-1
            )
            dist, idx = np.empty_like(dist_t), np.empty_like(idx_t)
            dist[order], idx[order] = dist_t, idx_t
            qi = np.broadcast_to(np.arange(n)[:, None], idx.shape)
            keep = np.isfinite(dist)
            if not loop:
                keep &= idx != qi
            keep &= np.cumsum(keep, axis=1) <= max_n
            i, j = qi[keep], idx[keep]
        order = np.argsort(i, kind="stable")
        rows.append(j[order] + start)
        cols.append(i[order] + start)
    if not rows:
        return torch.zeros(2, 0, dtype=torch.long)
    return torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)]).astype(np.int64))
