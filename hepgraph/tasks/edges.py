"""Edge classification for track finding: is an edge's pair of hits from one particle?

``truth: particle`` (default): a true edge joins two hits with the same ``track_id`` that
is not noise (-1). ``truth: segment``: it must also join *consecutive* hits of the
particle, in the order of their distance from the particle's production vertex (from the
origin when the data have no vertices), so an edge that skips a hit of its own track is
false: what track building wants. The graph comes from the model
(``outputs["edge_index"]``) or the batch.

A model that also scores *triplets* (``outputs["triplets"]``: pairs of edges a -> b -> c,
``outputs["triplet_out"]``: logits, as ``track-gnn``) gets a second loss, weighted by
``triplet_weight``: a triplet is true when both of its edges are true segments.

With ``calibrate_events`` > 0, training ends by choosing the track building (builder and
thresholds of the ``gnn`` clusterer) on that many validation events and writing it to
``RUN/cluster.yaml``, which ``hepgraph cluster --method gnn --run RUN`` reads
(:mod:`hepgraph.cluster.calibrate`).

YAML::

    task: {name: edge-classification, loss: focal, gamma: 2.0}
    task: {name: edge-classification, loss: bce, pos_weight: auto, truth: segment, calibrate_events: 60}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hepgraph.errors import ConfigError, DataError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.metrics.classification import efficiency_purity, roc_auc
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, hit_ids, require_columns, to_numpy

LOSSES = ("focal", "bce")
TRUTHS = ("particle", "segment")
#: Particle columns that give each hit's place along its track.
VERTEX_COLUMNS = ("particle_id", "particle_vx", "particle_vy", "particle_vz")


def edge_truth(edge_index: Tensor, track_id: Tensor) -> Tensor:
    """(E,) bool: both ends share a ``track_id`` that is not -1."""
    a, b = track_id[edge_index[0]], track_id[edge_index[1]]
    return (a == b) & (a != -1)


def hit_ranks(batch: HitBatch) -> Tensor:
    """(N,) place of each hit along its particle (0 = nearest its vertex; -1 for noise).

    Hits are ordered by their distance from the particle's production vertex (particle
    columns ``particle_id, particle_v{x,y,z}``), or from the origin without them.
    """
    tid = batch.hit["track_id"].detach().cpu().numpy().astype(np.int64)
    ev = batch.batch.detach().cpu().numpy()
    pos = batch.pos.detach().cpu().double().numpy()
    ref = np.zeros_like(pos)
    if all(c in batch.particle for c in VERTEX_COLUMNS) and batch.particle_ptr is not None:
        pid = batch.particle["particle_id"].cpu().numpy().astype(np.int64)
        pptr = batch.particle_ptr.cpu().numpy()
        pev = np.repeat(np.arange(pptr.size - 1), np.diff(pptr))
        vtx = np.stack([batch.particle[f"particle_v{c}"].cpu().double().numpy() for c in "xyz"], 1)
        keys = np.concatenate([np.stack([pev, pid], 1), np.stack([ev, tid], 1)])
        _, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        row = np.full(inv.max() + 1 if inv.size else 0, -1, np.int64)
        row[inv[: pid.size]] = np.arange(pid.size)
        hit_row = row[inv[pid.size:]]
        ok = (hit_row >= 0) & (tid >= 0)
        ref[ok] = np.nan_to_num(vtx[hit_row[ok]])
    order = np.linalg.norm(pos - ref, axis=1)
    idx = np.lexsort((order, tid, ev))
    t, e = tid[idx], ev[idx]
    start = np.r_[True, (t[1:] != t[:-1]) | (e[1:] != e[:-1])]
    first = np.maximum.accumulate(np.where(start, np.arange(idx.size), 0))
    rank = np.empty(idx.size, np.int64)
    rank[idx] = np.arange(idx.size) - first
    rank[tid < 0] = -1
    return torch.from_numpy(rank).to(batch.pos.device)


def segment_truth(edge_index: Tensor, track_id: Tensor, rank: Tensor) -> Tensor:
    """(E,) bool: both ends are consecutive hits (ranks differ by one) of one particle."""
    same = edge_truth(edge_index, track_id)
    return same & ((rank[edge_index[0]] - rank[edge_index[1]]).abs() == 1)


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0, alpha: float | None = 0.25) -> Tensor:
    """Sigmoid focal loss (Lin et al. 2017), mean over elements.

    .. math:: FL = -\\alpha_t (1 - p_t)^\\gamma \\log p_t
    """
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss.mean()


@TASKS.register("edge-classification", level="edge")
class EdgeClassificationTask(Task):
    """Binary edge scores with focal loss or (class-)weighted BCE.

    Args:
        loss: ``focal`` or ``bce``.
        gamma: focal exponent.
        alpha: focal weight of the positive class (``None`` = no weighting).
        pos_weight: BCE weight of true edges, or ``"auto"`` (negatives/positives per batch).
        threshold: score cut for efficiency/purity and predictions.
        truth: ``particle`` (same particle) or ``segment`` (consecutive hits of one particle).
        triplet_weight: weight of the triplet loss when the model scores triplets.
        calibrate_events: validation events that choose the track building after training
            (0 = none; more, up to 20 times as many, while they hold fewer than 1,000
            particles; see the module docstring).

    Shapes:
        - **out:** (E, 1) logits  - **edge_index:** (2, E)  - **targets:** (E,) float
    """

    name = "edge-classification"
    level = "edge"
    headline = ("auc", "max")

    def __init__(
        self,
        loss: str = "focal",
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        pos_weight: float | str | None = "auto",
        threshold: float = 0.5,
        truth: str = "particle",
        triplet_weight: float = 0.5,
        calibrate_events: int = 0,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"task.loss `{loss}` is not an edge loss; valid: {', '.join(LOSSES)}")
        if truth not in TRUTHS:
            raise ConfigError(f"task.truth `{truth}` is unknown; valid: {', '.join(TRUTHS)}")
        if triplet_weight < 0 or calibrate_events < 0:
            raise ConfigError("task.triplet_weight and task.calibrate_events must be >= 0")
        self.truth, self.triplet_weight = truth, float(triplet_weight)
        self.calibrate_events = int(calibrate_events)
        if isinstance(pos_weight, str) and pos_weight != "auto":
            raise ConfigError(f"task.pos_weight `{pos_weight}` must be a number or `auto`")
        self.loss_name, self.gamma, self.alpha = loss, float(gamma), alpha
        self.pos_weight, self.threshold = pos_weight, float(threshold)

    @property
    def out_channels(self) -> int:
        return 1

    @property
    def columns(self) -> tuple[str, ...]:
        """Truth and ids; particle vertices for ``truth: segment``."""
        return ("track_id", "hit_id", *(VERTEX_COLUMNS if self.truth == "segment" else ()))

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, ["track_id"], self.name)

    def hparams(self) -> dict[str, Any]:
        return {"loss": self.loss_name, "gamma": self.gamma, "alpha": self.alpha,
                "pos_weight": self.pos_weight, "threshold": self.threshold, "truth": self.truth,
                "triplet_weight": self.triplet_weight, "calibrate_events": self.calibrate_events}

    def _edges(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> Tensor:
        ei = outputs.get("edge_index", batch.edge_index)
        if ei is None:
            raise DataError("task `edge-classification` needs edges: the model returned no edge_index")
        return ei

    def targets(self, batch: HitBatch, edge_index: Tensor | None = None) -> dict[str, Tensor]:
        if "track_id" not in batch.hit:
            raise DataError("batch has no hit column `track_id` for task `edge-classification`")
        ei = edge_index if edge_index is not None else batch.edge_index
        if self.truth == "segment":
            return {"y": segment_truth(ei, batch.hit["track_id"], hit_ranks(batch)).float()}
        return {"y": edge_truth(ei, batch.hit["track_id"]).float()}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        return {"score": torch.sigmoid(outputs["out"].float().reshape(-1)),
                "edge_index": self._edges(outputs, batch)}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        ei = self._edges(outputs, batch)
        logits = outputs["out"].float().reshape(-1)
        y = self.targets(batch, ei)["y"]
        loss = self._loss(logits, y) if logits.numel() else outputs["out"].sum() * 0.0
        if outputs.get("triplet_out") is not None and self.triplet_weight > 0:
            trip, tl = outputs["triplets"], outputs["triplet_out"].float().reshape(-1)
            if tl.numel():
                ty = (y[trip[0]] > 0.5) & (y[trip[1]] > 0.5)
                loss = loss + self.triplet_weight * self._loss(tl, ty.float())
            else:
                loss = loss + outputs["triplet_out"].sum() * 0.0
        return {"loss": loss, "output": {"score": torch.sigmoid(logits), "edge_index": ei},
                "targets": {"y": y}}

    def _loss(self, logits: Tensor, y: Tensor) -> Tensor:
        if self.loss_name == "focal":
            return focal_loss(logits, y, self.gamma, self.alpha)
        if self.pos_weight == "auto":
            npos = y.sum()
            pw = ((y.numel() - npos) / npos.clamp(min=1.0)).clamp(min=1.0)
        else:
            pw = torch.tensor(float(self.pos_weight or 1.0), device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw)

    def after_training(self, run_dir: Any, val: Any) -> None:
        """Choose the track building on ``calibrate_events`` validation events (if > 0)."""
        if self.calibrate_events <= 0 or val is None or len(val) == 0:
            return
        from hepgraph.cluster.calibrate import calibrate_run

        calibrate_run(run_dir, val, max_events=self.calibrate_events)

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        return {"score": to_numpy(result["output"]["score"]), "y": to_numpy(result["targets"]["y"])}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        y, s = np.asarray(acc["y"]) > 0.5, np.asarray(acc["score"])
        eff, pur = efficiency_purity(y, s, self.threshold)
        return {"auc": roc_auc(y, s), "efficiency": float(eff), "purity": float(pur),
                "accuracy": float(np.mean((s > self.threshold) == y)) if y.size else float("nan"),
                "true_fraction": float(y.mean()) if y.size else float("nan")}

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        ei = result["output"]["edge_index"]
        hid = hit_ids(batch)
        return {
            "event_id": to_numpy(batch.event_id[batch.batch[ei[0]]]),
            "hit_id_src": to_numpy(hid[ei[0]]),
            "hit_id_dst": to_numpy(hid[ei[1]]),
            "score": to_numpy(result["output"]["score"]),
        }
