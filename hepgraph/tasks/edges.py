"""Edge classification for track finding: is an edge's pair of hits from one particle?

A true edge joins two hits with the same ``track_id`` that is not noise (-1). The
graph comes from the model (``outputs["edge_index"]``) or the batch.

YAML::

    task: {name: edge-classification, loss: focal, gamma: 2.0}
    task: {name: edge-classification, loss: bce, pos_weight: auto}
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


def edge_truth(edge_index: Tensor, track_id: Tensor) -> Tensor:
    """(E,) bool: both ends share a ``track_id`` that is not -1."""
    a, b = track_id[edge_index[0]], track_id[edge_index[1]]
    return (a == b) & (a != -1)


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
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"task.loss `{loss}` is not an edge loss; valid: {', '.join(LOSSES)}")
        if isinstance(pos_weight, str) and pos_weight != "auto":
            raise ConfigError(f"task.pos_weight `{pos_weight}` must be a number or `auto`")
        self.loss_name, self.gamma, self.alpha = loss, float(gamma), alpha
        self.pos_weight, self.threshold = pos_weight, float(threshold)

    @property
    def out_channels(self) -> int:
        return 1

    @property
    def columns(self) -> tuple[str, ...]:
        return ("track_id", "hit_id")

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, ["track_id"], self.name)

    def hparams(self) -> dict[str, Any]:
        return {"loss": self.loss_name, "gamma": self.gamma, "alpha": self.alpha,
                "pos_weight": self.pos_weight, "threshold": self.threshold}

    def _edges(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> Tensor:
        ei = outputs.get("edge_index", batch.edge_index)
        if ei is None:
            raise DataError("task `edge-classification` needs edges: the model returned no edge_index")
        return ei

    def targets(self, batch: HitBatch, edge_index: Tensor | None = None) -> dict[str, Tensor]:
        if "track_id" not in batch.hit:
            raise DataError("batch has no hit column `track_id` for task `edge-classification`")
        ei = edge_index if edge_index is not None else batch.edge_index
        return {"y": edge_truth(ei, batch.hit["track_id"]).float()}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        return {"score": torch.sigmoid(outputs["out"].float().reshape(-1)),
                "edge_index": self._edges(outputs, batch)}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        ei = self._edges(outputs, batch)
        logits = outputs["out"].float().reshape(-1)
        y = self.targets(batch, ei)["y"]
        if logits.numel() == 0:
            loss = outputs["out"].sum() * 0.0
        elif self.loss_name == "focal":
            loss = focal_loss(logits, y, self.gamma, self.alpha)
        else:
            if self.pos_weight == "auto":
                npos = y.sum()
                pw = ((y.numel() - npos) / npos.clamp(min=1.0)).clamp(min=1.0)
            else:
                pw = torch.tensor(float(self.pos_weight or 1.0), device=logits.device)
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw)
        return {"loss": loss, "output": {"score": torch.sigmoid(logits), "edge_index": ei},
                "targets": {"y": y}}

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
