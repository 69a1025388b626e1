"""Per-hit semantic segmentation on the ``semantic`` column.

YAML::

    task: {name: segmentation, class_weights: balanced}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.hitbatch import HitBatch
from hepgraph.metrics.classification import accuracy, confusion_matrix, per_class_scores
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, balanced_weights, hit_ids, require_columns, to_numpy


@TASKS.register("segmentation", level="hit")
class SegmentationTask(Task):
    """Cross-entropy per hit; metrics are per-class precision, recall and IoU.

    Args:
        num_classes: K (default: the manifest's ``semantic_names``, else the data).
        class_names: names of the classes.
        class_weights: (K,) loss weights, or ``"balanced"`` (inverse hit frequency).
        ignore_index: class value excluded from the loss and metrics (default -1).

    Shapes:
        - **out:** (N, K) logits  - **targets:** (N,) int64
    """

    name = "segmentation"
    level = "hit"
    headline = ("mean_iou", "max")

    def __init__(
        self,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        class_weights: Sequence[float] | str | None = None,
        ignore_index: int = -1,
    ) -> None:
        super().__init__()
        if isinstance(class_weights, str) and class_weights != "balanced":
            raise ConfigError(f"task.class_weights `{class_weights}` must be numbers or `balanced`")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.class_weights = class_weights
        self.ignore_index = int(ignore_index)
        w = class_weights if isinstance(class_weights, Sequence) and not isinstance(class_weights, str) else None
        self.register_buffer("weight", None if w is None else torch.tensor(w, dtype=torch.float32))

    @property
    def out_channels(self) -> int:
        if self.num_classes is None:
            raise ConfigError(f"task `segmentation` needs num_classes; set {setting('task.num_classes', 'K')}")
        return self.num_classes

    @property
    def columns(self) -> tuple[str, ...]:
        return ("semantic", "hit_id")

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, ["semantic"], self.name)
        names = manifest.get("semantic_names")
        if names and self.num_classes is None:
            self.num_classes = len(names)
        if names and self.class_names is None:
            self.class_names = list(names)
        if self.num_classes is None:
            raise DataError(
                f"the dataset has no `semantic_names` in its manifest; set {setting('task.num_classes', 'K')}"
            )

    def fit(self, sample: Mapping[str, np.ndarray]) -> None:
        if self.class_weights == "balanced":
            counts = np.asarray(sample.get("semantic_counts", np.ones(self.out_channels)), np.float64)
            counts = np.pad(counts, (0, max(0, self.out_channels - len(counts))))[: self.out_channels]
            w = balanced_weights(counts)
            self.weight = torch.tensor(w, dtype=torch.float32)
            self.class_weights = [float(v) for v in w]

    def hparams(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "class_weights": self.class_weights,
            "ignore_index": self.ignore_index,
        }

    def names(self) -> list[str]:
        """Class names (or indices as strings)."""
        return self.class_names or [str(i) for i in range(self.out_channels)]

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        if "semantic" not in batch.hit:
            raise DataError("batch has no hit column `semantic` for task `segmentation`")
        y = batch.hit["semantic"].long()
        bad = (y != self.ignore_index) & ((y < 0) | (y >= self.out_channels))
        return {"y": torch.where(bad, torch.full_like(y, self.ignore_index), y)}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        return {"probs": outputs["out"].float().softmax(-1)}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        logits = outputs["out"].float()
        y = self.targets(batch)["y"]
        if (y != self.ignore_index).any():
            loss = F.cross_entropy(logits, y, weight=self.weight, ignore_index=self.ignore_index)
        else:
            loss = logits.sum() * 0.0
        return {"loss": loss, "output": {"probs": logits.softmax(-1)}, "targets": {"y": y}}

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        y = to_numpy(result["targets"]["y"])
        pred = to_numpy(result["output"]["probs"].argmax(-1))
        return {"y": y, "pred": pred}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        y, pred = np.asarray(acc["y"]), np.asarray(acc["pred"])
        keep = y != self.ignore_index
        y, pred = y[keep], pred[keep]
        cm = confusion_matrix(y, pred, self.out_channels)
        s = per_class_scores(cm)
        iou = s["iou"]
        return {
            "accuracy": accuracy(y, pred),
            "mean_iou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
            "iou_per_class": iou.tolist(),
            "precision_per_class": s["precision"].tolist(),
            "recall_per_class": s["recall"].tolist(),
            "confusion_matrix": cm.tolist(),
        }

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        probs = to_numpy(result["output"]["probs"])
        cols: Arrays = {
            "event_id": to_numpy(batch.event_id[batch.batch]),
            "hit_id": to_numpy(hit_ids(batch)),
            "pred": probs.argmax(1).astype(np.int64) if len(probs) else np.zeros(0, np.int64),
        }
        for i, n in enumerate(self.names()):
            cols[f"prob_{n}"] = probs[:, i]
        return cols
