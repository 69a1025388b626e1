"""Object condensation (Kieseler 2020, arXiv:2002.03605) for clustering hits into tracks.

The model predicts per hit a clustering-space position :math:`x_i \\in R^D` and a
condensation strength :math:`\\beta_i = \\sigma(\\text{logit})`. With charge
:math:`q_i = \\operatorname{arctanh}^2 \\beta_i + q_{min}` and :math:`\\alpha_k` the hit of
object :math:`k` with the largest :math:`\\beta`:

.. math::
    L_V = \\frac{1}{N} \\sum_i q_i \\sum_k \\left( M_{ik} \\lVert x_i - x_{\\alpha_k} \\rVert^2
          + (1 - M_{ik}) \\max(0, 1 - \\lVert x_i - x_{\\alpha_k} \\rVert) \\right) q_{\\alpha_k}

    L_\\beta = \\frac{1}{K} \\sum_k (1 - \\beta_{\\alpha_k}) + s_B \\frac{1}{N_B} \\sum_{i \\in noise} \\beta_i

Each event is normalised on its own and events are averaged. Memory: the attractive term
is O(N); the repulsive term is computed per event in chunks of objects, so it never holds
more than ``chunk_elements`` hit-object pairs (never N x N, never across events).

YAML::

    task: {name: condensation, dims: 3, q_min: 0.1, s_b: 1.0}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgraph.errors import ConfigError, DataError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, hit_ids, require_columns, to_numpy

BETA_MAX = 1.0 - 1e-4


def object_index(batch_idx: Tensor, track_id: Tensor) -> tuple[Tensor, int]:
    """(N,) object index per hit (-1 for noise), objects = distinct (event, track_id) pairs."""
    obj = torch.full_like(track_id, -1)
    keep = track_id != -1
    if keep.any():
        pairs = torch.stack([batch_idx[keep], track_id[keep]], dim=1)
        _, inv = torch.unique(pairs, dim=0, return_inverse=True)
        obj[keep] = inv
        return obj, int(inv.max()) + 1
    return obj, 0


def condensation_points(beta: Tensor, obj: Tensor, num_objects: int) -> Tensor:
    """(K,) row index of the highest-beta hit of each object (ties -> lowest row)."""
    rows = torch.arange(beta.numel(), device=beta.device)
    m = obj >= 0
    bmax = torch.full((num_objects,), -1.0, device=beta.device).scatter_reduce(
        0, obj[m], beta[m], reduce="amax"
    )
    is_max = m & (beta == bmax[obj.clamp(min=0)])
    big = torch.full((num_objects,), beta.numel(), device=beta.device, dtype=torch.long)
    return big.scatter_reduce(0, obj[is_max], rows[is_max], reduce="amin")


def condensation_loss(
    x: Tensor, beta: Tensor, batch: HitBatch, *, q_min: float = 0.1, s_b: float = 1.0,
    chunk_elements: int = 1 << 22,
) -> dict[str, Tensor]:
    """Attractive, repulsive and beta terms of the object condensation loss.

    Args:
        x: (N, D) clustering coordinates.
        beta: (N,) condensation strength in (0, 1).
        batch: the batch (``track_id``, ``ptr``).
        q_min: minimal charge.
        s_b: weight of the noise suppression term.
        chunk_elements: max hit-object pairs held at once in the repulsive term.

    Returns:
        ``{"attractive", "repulsive", "beta"}`` scalar tensors (means over non-empty events).
    """
    tid = batch.hit["track_id"].long()
    bidx = batch.batch
    n_ev = batch.batch_size
    counts = batch.counts.to(x.dtype)
    w_hit = 1.0 / counts.clamp(min=1)[bidx]  # (N,) per-event normalisation
    q = torch.atanh(beta.clamp(max=BETA_MAX)) ** 2 + q_min
    obj, k = object_index(bidx, tid)
    zero = x.sum() * 0.0
    nonempty = (batch.counts > 0).sum().clamp(min=1).to(x.dtype)
    if k == 0:
        att = rep = zero
        l_obj = zero
    else:
        alpha = condensation_points(beta, obj, k)  # (K,)
        x_a, q_a = x[alpha], q[alpha]
        own = obj >= 0
        oc = obj.clamp(min=0)
        d2_own = ((x - x_a[oc]) ** 2).sum(-1)
        att = (w_hit * q * q_a[oc] * d2_own * own).sum() / nonempty
        obj_event = bidx[alpha]  # (K,)
        rep = zero
        ptr = batch.ptr.tolist()
        order = torch.argsort(obj_event, stable=True)
        ocount = torch.bincount(obj_event, minlength=n_ev).tolist()
        ostart = 0
        for e in range(n_ev):
            ke = ocount[e]
            objs = order[ostart : ostart + ke]
            ostart += ke
            lo, hi = ptr[e], ptr[e + 1]
            if ke == 0 or hi == lo:
                continue
            xe, qe, oe = x[lo:hi], q[lo:hi], obj[lo:hi]
            chunk = max(1, chunk_elements // (hi - lo))
            for c0 in range(0, ke, chunk):
                oc_ = objs[c0 : c0 + chunk]  # (c,)
                d = torch.sqrt(((xe[:, None, :] - x_a[oc_][None]) ** 2).sum(-1) + 1e-9)  # (Ne, c)
                other = oe[:, None] != oc_[None, :]
                v = torch.relu(1.0 - d) * q_a[oc_][None, :] * other
                rep = rep + (qe * v.sum(1)).sum() / (hi - lo)
        rep = rep / nonempty
        # beta term: per event mean over objects of (1 - beta_alpha).
        kcount = torch.bincount(obj_event, minlength=n_ev).to(x.dtype)
        per_ev = torch.zeros(n_ev, device=x.device, dtype=x.dtype).index_add(0, obj_event, 1 - beta[alpha])
        has = kcount > 0
        l_obj = (per_ev[has] / kcount[has]).sum() / has.sum().clamp(min=1)
    noise = tid == -1
    ncount = torch.bincount(bidx[noise], minlength=n_ev).to(x.dtype)
    nsum = torch.zeros(n_ev, device=x.device, dtype=x.dtype).index_add(0, bidx[noise], beta[noise])
    hasn = ncount > 0
    l_noise = (nsum[hasn] / ncount[hasn]).sum() / hasn.sum().clamp(min=1)
    return {"attractive": att, "repulsive": rep, "beta": l_obj + s_b * l_noise}


def condense(coords: np.ndarray, beta: np.ndarray, t_beta: float = 0.5, t_d: float = 0.5) -> np.ndarray:
    """Greedy condensation inference for one event: (N,) cluster ids, -1 = unassigned.

    Hits with beta above ``t_beta`` become condensation points in decreasing beta order
    (skipping those already assigned); each claims unassigned hits within ``t_d``.
    """
    n = len(beta)
    cid = np.full(n, -1, np.int64)
    nxt = 0
    for i in np.argsort(-beta, kind="stable"):
        if beta[i] < t_beta:
            break
        if cid[i] != -1:
            continue
        free = cid == -1
        near = free & (((coords - coords[i]) ** 2).sum(1) < t_d * t_d)
        near[i] = True
        cid[near] = nxt
        nxt += 1
    return cid


def match_objects(track_id: np.ndarray, cluster: np.ndarray) -> tuple[int, int, int]:
    """Double-majority matching of one event: (matched truth objects, truth objects, clusters).

    A truth object is matched when one cluster holds > 50 % of its hits and > 50 % of
    that cluster's hits belong to it.
    """
    truth = track_id[track_id != -1]
    n_obj = len(np.unique(truth))
    n_clu = len(np.unique(cluster[cluster != -1]))
    m = (track_id != -1) & (cluster != -1)
    if not m.any():
        return 0, n_obj, n_clu
    pairs, cnt = np.unique(np.stack([track_id[m], cluster[m]], 1), axis=0, return_counts=True)
    t_ids, t_n = np.unique(track_id, return_counts=True)
    c_ids, c_n = np.unique(cluster, return_counts=True)
    nt = t_n[np.searchsorted(t_ids, pairs[:, 0])]
    nc = c_n[np.searchsorted(c_ids, pairs[:, 1])]
    ok = (2 * cnt > nt) & (2 * cnt > nc)
    return int(len(np.unique(pairs[ok, 0]))), n_obj, n_clu


@TASKS.register("condensation", level="hit")
class CondensationTask(Task):
    """Object condensation: per-hit clustering coordinates + beta.

    Args:
        dims: D, the clustering-space dimension.
        q_min: minimal charge :math:`q_{min}`.
        s_b: weight of the noise term.
        t_beta: inference beta threshold.
        t_d: inference distance threshold (clustering-space units).
        chunk_elements: memory bound of the repulsive term (hit-object pairs).

    Shapes:
        - **out:** (N, D + 1): D coordinates then one beta logit
    """

    name = "condensation"
    level = "hit"
    headline = ("loss", "min")

    def __init__(self, dims: int = 3, q_min: float = 0.1, s_b: float = 1.0, t_beta: float = 0.5,
                 t_d: float = 0.5, chunk_elements: int = 1 << 22) -> None:
        super().__init__()
        if int(dims) < 1:
            raise ConfigError(f"task.dims `{dims}` must be >= 1")
        self.dims, self.q_min, self.s_b = int(dims), float(q_min), float(s_b)
        self.t_beta, self.t_d, self.chunk_elements = float(t_beta), float(t_d), int(chunk_elements)

    @property
    def out_channels(self) -> int:
        return self.dims + 1

    @property
    def columns(self) -> tuple[str, ...]:
        return ("track_id", "hit_id")

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, ["track_id"], self.name)

    def hparams(self) -> dict[str, Any]:
        return {"dims": self.dims, "q_min": self.q_min, "s_b": self.s_b, "t_beta": self.t_beta,
                "t_d": self.t_d, "chunk_elements": self.chunk_elements}

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        if "track_id" not in batch.hit:
            raise DataError("batch has no hit column `track_id` for task `condensation`")
        return {"track_id": batch.hit["track_id"].long()}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        out = outputs["out"].float()
        return {"coords": out[:, : self.dims], "beta": torch.sigmoid(out[:, self.dims])}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        out = outputs["out"].float()
        x, beta = out[:, : self.dims], torch.sigmoid(out[:, self.dims])
        self.targets(batch)
        parts = condensation_loss(x, beta, batch, q_min=self.q_min, s_b=self.s_b,
                                  chunk_elements=self.chunk_elements)
        loss = parts["attractive"] + parts["repulsive"] + parts["beta"]
        return {"loss": loss, "output": {"coords": x, "beta": beta},
                "targets": {"track_id": batch.hit["track_id"]}, "parts": parts}

    def _clusters(self, result: Mapping[str, Any], batch: HitBatch) -> np.ndarray:
        x, b = to_numpy(result["output"]["coords"]), to_numpy(result["output"]["beta"])
        ptr = batch.ptr.tolist()
        cid = np.full(len(b), -1, np.int64)
        for e in range(batch.batch_size):
            cid[ptr[e] : ptr[e + 1]] = condense(x[ptr[e] : ptr[e + 1]], b[ptr[e] : ptr[e + 1]],
                                                self.t_beta, self.t_d)
        return cid

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        cid = self._clusters(result, batch)
        tid = to_numpy(batch.hit["track_id"])
        ptr = batch.ptr.tolist()
        stats = np.array([match_objects(tid[ptr[e] : ptr[e + 1]], cid[ptr[e] : ptr[e + 1]])
                          for e in range(batch.batch_size)], np.int64).reshape(-1, 3)
        parts = result.get("parts", {})
        return {"match": stats, "beta": to_numpy(result["output"]["beta"]), "noise": tid == -1,
                **{f"loss_{k}": np.array([float(v)]) for k, v in parts.items()}}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        st = np.asarray(acc["match"]).reshape(-1, 3).sum(0)
        out = {k: float(np.mean(acc[k])) for k in ("loss_attractive", "loss_repulsive", "loss_beta") if k in acc}
        out["efficiency"] = float(st[0] / st[1]) if st[1] else float("nan")
        out["fake_rate"] = float(1 - st[0] / st[2]) if st[2] else float("nan")
        return out

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        x = to_numpy(result["output"]["coords"])
        cols: Arrays = {
            "event_id": to_numpy(batch.event_id[batch.batch]),
            "hit_id": to_numpy(hit_ids(batch)),
            "beta": to_numpy(result["output"]["beta"]),
            "cluster_id": self._clusters(result, batch),
        }
        for d in range(self.dims):
            cols[f"coord_{d}"] = x[:, d]
        return cols
