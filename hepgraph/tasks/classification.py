"""Event classification (``label``) and track counting (``n_tracks`` as classes).

YAML::

    task: {name: classification, label_smoothing: 0.0}
    task: {name: track-count, num_classes: 6}   # classes 0..5, the last one means ">= 5"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.hitbatch import HitBatch
from hepgraph.metrics.classification import (
    accuracy,
    auc_per_pair,
    class_pairs,
    confusion_matrix,
    per_class_scores,
    roc_auc,
    roc_auc_per_class,
)
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, balanced_weights, require_columns, to_numpy

log = logging.getLogger(__name__)


class EventClassTask(Task):
    """Cross-entropy on one class per event (shared by classification and track counting).

    Args:
        num_classes: K; defaults to the manifest's class names or the training data.
        class_names: names for the K classes (plots, reports).
        label_smoothing: cross-entropy label smoothing in [0, 1).
        class_weights: per-class loss weights (K,), or ``"balanced"`` (inverse frequency).

    Shapes:
        - **out:** (B, K) logits  - **targets:** (B,) int64
    """

    level = "event"
    headline = ("accuracy", "max")
    column = "label"

    def __init__(
        self,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        label_smoothing: float = 0.0,
        class_weights: Sequence[float] | str | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError(f"task.label_smoothing `{label_smoothing}` must be in [0, 1)")
        if isinstance(class_weights, str) and class_weights != "balanced":
            raise ConfigError(
                f"task.class_weights `{class_weights}` must be a list of numbers or `balanced`"
            )
        self.num_classes = None if num_classes is None else int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.label_smoothing = float(label_smoothing)
        self.class_weights = class_weights
        w = class_weights if isinstance(class_weights, Sequence) and not isinstance(class_weights, str) else None
        self.register_buffer("weight", None if w is None else torch.tensor(w, dtype=torch.float32))

    @property
    def out_channels(self) -> int:
        if self.num_classes is None:
            raise ConfigError(f"task `{self.name}` needs num_classes; set {setting('task.num_classes', 'K')}")
        return self.num_classes

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, [self.column], self.name)
        names = manifest.get("label_names") if self.column == "label" else None
        if self.num_classes is None and names:
            self.num_classes = len(names)
        if self.class_names is None and names:
            self.class_names = list(names)

    def fit(self, sample: Mapping[str, np.ndarray]) -> None:
        y = np.asarray(sample[self.column]).astype(np.int64)
        if y.size and y.min() < 0:
            raise DataError(f"column `{self.column}` holds negative class {y.min()}; classes start at 0")
        if self.num_classes is None:
            self.num_classes = max(int(y.max()) + 1 if y.size else 1, 2)
        if y.size and np.unique(y).size == 1:
            only = int(y[0])
            name = self.class_names[only] if self.class_names and only < len(self.class_names) else str(only)
            log.warning("`%s` is class %s in all %d training events sampled: the classifier has nothing to "
                        "tell apart and its AUC is undefined; check the label mapping, or train on events of "
                        "more than one class", self.column, name, y.size)
        if self.class_weights == "balanced":
            counts = np.bincount(np.clip(y, 0, self.num_classes - 1), minlength=self.num_classes)
            w = balanced_weights(counts)
            self.weight = torch.tensor(w, dtype=torch.float32)
            self.class_weights = [float(v) for v in w]

    def hparams(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "label_smoothing": self.label_smoothing,
            "class_weights": self.class_weights,
        }

    def names(self) -> list[str]:
        """Class names (``class_names`` or the class indices as strings)."""
        return self.class_names or [str(i) for i in range(self.out_channels)]

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        if self.column not in batch.event:
            raise DataError(f"batch has no event column `{self.column}` for task `{self.name}`")
        y = batch.event[self.column].long()
        return {"y": y.clamp(0, self.out_channels - 1)}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        return {"probs": outputs["out"].float().softmax(-1)}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        logits = outputs["out"].float()
        y = self.targets(batch)["y"]
        loss = F.cross_entropy(logits, y, weight=self.weight, label_smoothing=self.label_smoothing)
        return {"loss": loss, "output": {"probs": logits.softmax(-1)}, "targets": {"y": y}}

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        return {"probs": to_numpy(result["output"]["probs"]), "y": to_numpy(result["targets"]["y"])}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        probs, y = np.asarray(acc["probs"]), np.asarray(acc["y"])
        pred = probs.argmax(1) if probs.size else np.zeros(0, np.int64)
        k = self.out_channels
        cm = confusion_matrix(y, pred, k)
        scores = per_class_scores(cm)
        out: dict[str, Any] = {"accuracy": accuracy(y, pred)}
        present = np.unique(y)
        if present.size < 2:  # an AUC needs events of two classes: say so instead of a NaN
            shown = ", ".join(self.names()[int(c)] if int(c) < k else str(int(c)) for c in present) or "no events"
            out["notes"] = [f"AUC undefined: the events hold one class only ({shown}); evaluate on events "
                            "of more than one class"]
        if k == 2:
            if present.size >= 2:
                out["auc"] = roc_auc(y == 1, probs[:, 1])
        else:
            aucs = roc_auc_per_class(y, probs) if probs.size else np.full(k, np.nan)
            if present.size >= 2:
                out["auc_macro"] = float(np.nanmean(aucs))
            out["auc_per_class"] = aucs.tolist()
            # One-vs-one AUC per class pair "i-j" (class i positive, score p_i / (p_i + p_j)).
            out["auc_per_pair"] = (auc_per_pair(y, probs) if probs.size
                                   else {f"{i}-{j}": float("nan") for i, j in class_pairs(k)})
        out["class_names"] = self.names()
        out["confusion_matrix"] = cm.tolist()
        out["precision_per_class"] = scores["precision"].tolist()
        out["recall_per_class"] = scores["recall"].tolist()
        return out

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        probs = to_numpy(result["output"]["probs"])
        cols: Arrays = {"event_id": to_numpy(batch.event_id), "pred": probs.argmax(1).astype(np.int64)}
        for i, n in enumerate(self.names()):
            cols[f"prob_{n}"] = probs[:, i]
        return cols


@TASKS.register("classification", level="event")
class ClassificationTask(EventClassTask):
    """Event classification on ``label`` (binary or multi-class); class names from the manifest."""

    name = "classification"
    column = "label"


@TASKS.register("track-count", level="event")
class TrackCountTask(EventClassTask):
    """Track counting: ``n_tracks`` as classes ``0..K-1`` (the last class collects ``>= K-1``)."""

    name = "track-count"
    column = "n_tracks"

    def names(self) -> list[str]:
        k = self.out_channels
        return [str(i) for i in range(k - 1)] + [f">={k - 1}"]
