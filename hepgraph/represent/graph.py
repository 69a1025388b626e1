"""HitBatch -> graph: kNN, radius, or consecutive-layer edges (the tracking-GNN construction).

>>> g = to_graph(batch, method="knn", k=8)          # doctest: +SKIP
>>> g.x.shape, g.edge_index.shape, g.num_graphs     # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from hepgraph.errors import ConfigError, DataError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.represent.neighbors import knn_graph, radius_graph

METHODS = ("knn", "radius", "layers")


def layer_graph(
    pos: Tensor,
    ptr: Tensor,
    layer: Tensor,
    *,
    dphi: float = 0.15,
    dz: float | None = None,
    max_gap: int = 1,
) -> Tensor:
    """Edges between hits on consecutive layers of the same event inside a (dphi, dz) window.

    Uses cylindrical coordinates: ``phi = atan2(y, x)`` and ``z``. A hit on layer ``l``
    connects to hits on layers ``l+1 .. l+max_gap`` whose ``|phi_j - phi_i|`` (wrapped to
    [-pi, pi]) is at most ``dphi`` and, when ``dz`` is given, whose ``|z_j - z_i| <= dz``.
    Vectorised: hits are sorted by (event, layer, phi) and each window is found by
    ``searchsorted``, so the cost is O(N log N + E), not O(N^2).

    Args:
        pos: (N, 3) hit positions (mm), rows sorted by event.
        ptr: (B+1,) event offsets.
        layer: (N,) integer layer index.
        dphi: azimuthal window (rad).
        dz: longitudinal window (mm), ``None`` = no cut.
        max_gap: connect layers up to this many apart (1 = consecutive only).

    Returns:
        (2, E) int64 edges, row 0 = inner hit (lower layer), row 1 = outer hit.
    """
    if dphi <= 0 or dphi >= math.pi:
        raise ConfigError(f"dphi=`{dphi}` must be in (0, pi) rad")
    n = pos.shape[0]
    dev = pos.device
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=dev)
    counts = ptr[1:] - ptr[:-1]
    ev = torch.repeat_interleave(torch.arange(counts.numel(), device=dev), counts)
    lay = layer.long()
    lmin, lmax = int(lay.min()), int(lay.max())
    nl = lmax - lmin + 1 + max_gap
    group = ev * nl + (lay - lmin)  # (N,) one group per (event, layer)
    phi = torch.atan2(pos[:, 1].double(), pos[:, 0].double()) + math.pi  # [0, 2pi]
    key = group.double() * 8.0 + phi  # phi < 8 so keys of groups never overlap
    order = torch.argsort(key)
    skey = key[order]
    src_all, dst_all = [], []
    for gap in range(1, max_gap + 1):
        tgt_group = (group + gap).double() * 8.0
        windows = [(phi - dphi, phi + dphi)]
        # wrap-around: windows crossing 0 or 2pi are split in two
        windows.append((phi - dphi + 2 * math.pi, torch.full_like(phi, 2 * math.pi + 1)))
        windows.append((torch.full_like(phi, -1.0), phi + dphi - 2 * math.pi))
        for lo, hi in windows:
            lo_c, hi_c = lo.clamp(0.0, 2 * math.pi), hi.clamp(0.0, 2 * math.pi)
            a = torch.searchsorted(skey, tgt_group + lo_c, side="left")
            b = torch.searchsorted(skey, tgt_group + hi_c, side="right")
            b = torch.where(hi >= lo_c, b, a)  # empty window
            cnt = (b - a).clamp(min=0)
            if int(cnt.sum()) == 0:
                continue
            src = torch.repeat_interleave(torch.arange(n, device=dev), cnt)
            start = torch.repeat_interleave(a, cnt)
            offs = torch.arange(int(cnt.sum()), device=dev) - torch.repeat_interleave(
                torch.cumsum(cnt, 0) - cnt, cnt
            )
            dst = order[start + offs]
            if dz is not None:
                ok = (pos[dst, 2] - pos[src, 2]).abs() <= dz
                src, dst = src[ok], dst[ok]
            src_all.append(src)
            dst_all.append(dst)
    if not src_all:
        return torch.zeros(2, 0, dtype=torch.long, device=dev)
    # wrap windows may overlap when dphi ~ pi: dedupe on a 1-D key (sorted by (src, dst),
    # the order of torch.unique(dim=1), which is ~30x slower)
    key = torch.unique(torch.cat(src_all) * n + torch.cat(dst_all))
    return torch.stack([key // n, key % n])


def build_edges(
    batch: HitBatch,
    method: str = "knn",
    *,
    k: int = 16,
    r: float | None = None,
    max_num_neighbors: int | None = 32,
    dphi: float = 0.15,
    dz: float | None = None,
    max_gap: int = 1,
    loop: bool = False,
    backend: str = "auto",
) -> Tensor:
    """(2, E) edges of ``batch`` by ``method`` (see :func:`to_graph`)."""
    if method == "knn":
        return knn_graph(batch.pos, batch.ptr, k, loop=loop, backend=backend)
    if method == "radius":
        if r is None:
            raise ConfigError("graph method `radius` needs a radius: pass r=<mm>")
        return radius_graph(
            batch.pos, batch.ptr, r, max_num_neighbors=max_num_neighbors, loop=loop, backend=backend
        )
    if method == "layers":
        if "layer" not in batch.hit:
            raise DataError(
                "graph method `layers` needs the hit column `layer`, which this dataset lacks; "
                "use method=knn or radius"
            )
        return layer_graph(
            batch.pos, batch.ptr, batch.hit["layer"], dphi=dphi, dz=dz, max_gap=max_gap
        )
    raise ConfigError(f"graph method `{method}` is unknown; use one of {', '.join(METHODS)}")


def to_graph(batch: HitBatch, method: str = "knn", **kwargs: Any) -> Any:
    """Build a PyG ``Batch`` with ``x`` (features), ``pos`` (mm), ``edge_index`` and ``batch``.

    Args:
        batch: the hits.
        method: ``knn`` (k nearest in 3D), ``radius`` (all within ``r`` mm, at most
            ``max_num_neighbors``) or ``layers`` (consecutive ``layer`` values within
            ``dphi`` rad and ``dz`` mm).
        **kwargs: ``k``, ``r``, ``max_num_neighbors``, ``dphi``, ``dz``, ``max_gap`` (layers
            a hit may skip, for detector inefficiency), ``loop``, ``backend``.

    Returns:
        ``torch_geometric.data.Batch`` with ``num_graphs == batch.batch_size`` (empty events
        kept), built by :meth:`HitBatch.to_pyg`: labels (``y``), per-hit targets and
        ``event_id`` included, ``to_data_list()`` works; edges never cross events.

    Shapes:
        - **x:** (N, C)  - **pos:** (N, 3)  - **edge_index:** (2, E)  - **batch:** (N,)
    """
    return batch.to_pyg(edge_index=build_edges(batch, method, **kwargs))
