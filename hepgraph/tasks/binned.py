"""Binned regression: a continuous event target predicted as a class over bins (trigger style).

The OMTF muon trigger's network classifies each candidate into one of 43 p_T bins instead
of regressing p_T. This task does the same for any event column: the target is assigned to
bins (``edges[k] <= y < edges[k+1]``, under/overflow in the first/last bin), the model
gives one logit per bin (softmax, cross-entropy), and the predicted value is the training
median of the most probable bin (``estimate: median``) or the expectation of the bin
medians under the softmax (``estimate: expectation``).

Metrics are those of a classifier (accuracy, accuracy within one bin, confusion matrix)
and of a regression (bias, sigma68, relative bias and sigma68), plus the trigger's figure
of merit: the efficiency turn-on curve ``P(predicted >= threshold)`` vs the true value,
with its 50 % point, the efficiency above and the rate below the threshold.

YAML::

    task: {name: binned-regression, target: pt, bins: 43, spacing: log, bin_range: [2.0, 200.0],
           threshold: 20.0}
    task: {name: binned-regression, target: pt, bins: [0, 3, 5, 10, 20, 50, 100]}
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
from hepgraph.events.schema import kind_of
from hepgraph.metrics.binned import (
    MAX_BINS,
    SPACINGS,
    assign_bins,
    bin_centres,
    bin_edges,
    bin_medians,
    crossing,
    sigma68,
    turn_on,
)
from hepgraph.metrics.classification import accuracy, confusion_matrix
from hepgraph.metrics.regression import residual_stats
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, manifest_columns, to_numpy

#: How a value is read from the bin probabilities.
ESTIMATES = ("median", "expectation")


@TASKS.register("binned-regression", level="event")
class BinnedRegressionTask(Task):
    """Softmax over bins of one event target, with regression and turn-on metrics.

    Args:
        target: the event column (``pt``, ``p``, ``energy``, ...).
        targets: alias of ``target`` (one name), so ``--targets pt`` works.
        bins: number of bins (with ``spacing`` and ``bin_range``) or the explicit edges.
        spacing: ``uniform`` or ``log`` for a number of bins.
        bin_range: ``[lo, hi]`` of the bins (target unit); default the training min and max.
        estimate: ``median`` (median of the most probable bin) or ``expectation``.
        threshold: trigger threshold of the turn-on curve (target unit); default the
            training median of the target.
        label_smoothing: cross-entropy label smoothing in [0, 1).
        edges: the bin edges (set by :meth:`fit`; stored in checkpoints).
        medians: the training median of the target per bin (set by :meth:`fit`).

    Shapes:
        - **out:** (B, K) logits  - **targets:** (B,) true values
    """

    name = "binned-regression"
    level = "event"
    headline = ("loss", "min")

    def __init__(
        self,
        target: str | None = None,
        targets: Sequence[str] | str | None = None,
        bins: int | Sequence[float] = 20,
        spacing: str = "uniform",
        bin_range: Sequence[float] | None = None,
        estimate: str = "median",
        threshold: float | None = None,
        label_smoothing: float = 0.0,
        edges: Sequence[float] | None = None,
        medians: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(targets, str):
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        if targets and (len(targets) != 1 or (target is not None and target != targets[0])):
            raise ConfigError(f"task `binned-regression` predicts one target, got `{list(targets)}`; "
                              f"give one name, e.g. {setting('task.target', 'pt')}")
        self.target = target or (targets[0] if targets else None)
        if spacing not in SPACINGS:
            raise ConfigError(f"task.spacing `{spacing}` is unknown; use one of {', '.join(SPACINGS)}")
        if estimate not in ESTIMATES:
            raise ConfigError(f"task.estimate `{estimate}` is unknown; use one of {', '.join(ESTIMATES)}")
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError(f"task.label_smoothing `{label_smoothing}` must be in [0, 1)")
        try:
            bad = bin_range is not None and (len(bin_range) != 2 or not float(bin_range[1]) > float(bin_range[0]))
        except (TypeError, ValueError):  # [a, b], 5
            bad = True
        if bad:
            raise ConfigError(f"task.bin_range `{bin_range}` must be [lo, hi] (numbers) with lo < hi")
        self.bins, self.spacing, self.estimate = bins, spacing, estimate
        self.bin_range = None if bin_range is None else [float(v) for v in bin_range]
        self.threshold = None if threshold is None else float(threshold)
        self.label_smoothing = float(label_smoothing)
        if edges is None and not isinstance(bins, (int, np.integer)):
            edges = bin_edges(bins)                          # explicit edges: known now
        elif edges is None and self.bin_range is not None:
            edges = bin_edges(int(bins), spacing, *self.bin_range)
        if isinstance(bins, (int, np.integer)) and not 2 <= int(bins) <= MAX_BINS:
            raise ConfigError(f"task.bins `{bins}`: give 2 to {MAX_BINS} bins, or the list of edges")
        e = None if edges is None else torch.tensor(np.asarray(edges, np.float64))
        self.register_buffer("edges", e)
        self.register_buffer("medians", None if medians is None else torch.tensor(np.asarray(medians, np.float64)))

    @property
    def num_bins(self) -> int:
        """K, the number of bins (classes)."""
        if self.edges is not None:
            return int(self.edges.numel()) - 1
        return int(self.bins) if isinstance(self.bins, (int, np.integer)) else len(self.bins) - 1

    @property
    def out_channels(self) -> int:
        return self.num_bins

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()

    def check(self, manifest: Mapping[str, Any]) -> None:
        have = manifest_columns(manifest)
        valid = sorted(c for c in have if kind_of(c) == "event" and c not in ("event_id",))
        if not self.target:
            raise ConfigError(f"task `binned-regression` needs a target: {setting('task.target', 'NAME')} with one of "
                              f"{', '.join(valid) or '(none: this dataset has no event columns)'}")
        if self.target not in have or kind_of(self.target) != "event":
            if not valid:
                raise DataError(f"binned-regression target `{self.target}`: this dataset has no event-level "
                                f"columns; choose another {setting('task.name')}")
            raise ConfigError(f"unknown binned-regression target `{self.target}`; valid: {', '.join(valid)}")

    def fit(self, sample: Mapping[str, np.ndarray]) -> None:
        y = np.asarray(sample[self.target], np.float64)
        if not np.isfinite(y).all():
            raise DataError(f"target `{self.target}` contains NaN or infinite values")
        if y.size == 0:
            raise DataError("binned-regression: the training sample holds no events")
        if self.edges is None:
            lo, hi = float(y.min()), float(y.max())
            if self.spacing == "log" and lo <= 0:
                raise ConfigError(f"task.spacing `log`: target `{self.target}` reaches {lo:g} <= 0; give "
                                  "task.bin_range=[lo, hi] with lo > 0")
            if not hi > lo:
                raise DataError(f"target `{self.target}` takes one value ({lo:g}) in the training sample; "
                                "give task.bin_range=[lo, hi] or explicit task.bins")
            self.edges = torch.tensor(bin_edges(int(self.bins), self.spacing, lo, hi))
        e = self.edges.numpy()
        self.medians = torch.tensor(bin_medians(y, e, bin_centres(e, self.spacing)))
        if self.threshold is None:
            self.threshold = float(np.median(y))

    def hparams(self) -> dict[str, Any]:
        return {
            "target": self.target, "bins": self.bins if isinstance(self.bins, (int, np.integer)) else list(self.bins),
            "spacing": self.spacing, "bin_range": self.bin_range, "estimate": self.estimate,
            "threshold": self.threshold, "label_smoothing": self.label_smoothing,
            "edges": None if self.edges is None else [float(v) for v in self.edges],
            "medians": None if self.medians is None else [float(v) for v in self.medians],
        }

    def names(self) -> list[str]:
        """Bin labels ``lo-hi`` (target unit), one per class."""
        if self.edges is None:
            return [str(i) for i in range(self.num_bins)]
        e = self.edges.tolist()
        return [f"{a:.3g}-{b:.3g}" for a, b in zip(e[:-1], e[1:])]

    def bin_of(self, y: Tensor) -> Tensor:
        """(B,) int64 bin of each true value (as :func:`hepgraph.metrics.binned.assign_bins`)."""
        inner = self.edges[1:-1].to(device=y.device, dtype=torch.float64)
        return torch.bucketize(y.double(), inner, right=True)

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        if self.target not in batch.event:
            raise DataError(f"batch has no event column `{self.target}` for task `binned-regression`")
        y = batch.event[self.target].double()
        return {"y": y, "bin": self.bin_of(y)}

    def _fitted(self) -> None:
        if self.edges is None or self.medians is None:
            raise ConfigError("task `binned-regression` is not fitted: its bin edges come from the training data")

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        self._fitted()
        probs = outputs["out"].float().softmax(-1)
        med = self.medians.to(device=probs.device, dtype=torch.float64)
        if self.estimate == "median":
            value = med[probs.argmax(-1)]
        else:
            value = probs.double() @ med
        return {"probs": probs, "value": value}

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        self._fitted()
        t = self.targets(batch)
        loss = F.cross_entropy(outputs["out"].float(), t["bin"], label_smoothing=self.label_smoothing)
        return {"loss": loss, "output": self.infer(outputs, batch), "targets": t}

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        return {"probs": to_numpy(result["output"]["probs"]), "value": to_numpy(result["output"]["value"]),
                "y": to_numpy(result["targets"]["y"])}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        self._fitted()
        probs, y, value = np.asarray(acc["probs"]), np.asarray(acc["y"], np.float64), np.asarray(acc["value"])
        return binned_metrics(y, probs, value, self.edges.numpy(), self.threshold, self.names())

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        probs = to_numpy(result["output"]["probs"])
        cols: Arrays = {"event_id": to_numpy(batch.event_id), "pred": probs.argmax(1).astype(np.int64),
                        f"pred_{self.target}": to_numpy(result["output"]["value"])}
        for k in range(probs.shape[1]):
            cols[f"prob_bin{k}"] = probs[:, k]
        return cols


def binned_metrics(y: np.ndarray, probs: np.ndarray, value: np.ndarray, edges: np.ndarray,
                   threshold: float | None, names: Sequence[str]) -> dict[str, Any]:
    """Classifier, regression and trigger metrics of a binned regression.

    Args:
        y: (N,) true values.
        probs: (N, K) bin probabilities.
        value: (N,) predicted values (target unit).
        edges: (K+1,) bin edges.
        threshold: trigger threshold (target unit); None skips the turn-on metrics.
        names: K bin labels.

    Returns:
        ``accuracy``, ``accuracy_within_1``, ``confusion_matrix``, ``class_names``, ``bias``,
        ``sigma68``, ``rmse``, ``rel_bias``/``rel_sigma68`` (of (pred - true)/true, where
        true > 0), and with a threshold ``threshold``, ``efficiency_above`` (true >=
        threshold), ``rate_below`` (true < threshold), ``turn_on_50`` and ``turn_on``
        (``centres``, ``efficiency``, ``lo``, ``hi``, ``n``).
    """
    k = len(edges) - 1
    true_bin = assign_bins(y, edges)
    pred_bin = probs.argmax(1) if probs.size else np.zeros(0, np.int64)
    r = residual_stats(y, value)
    out: dict[str, Any] = {
        "accuracy": accuracy(true_bin, pred_bin),
        "accuracy_within_1": float(np.mean(np.abs(true_bin - pred_bin) <= 1)) if y.size else float("nan"),
        "bias": r["bias"], "sigma68": sigma68(value - y), "rmse": r["rmse"],
    }
    pos = y > 0
    rel = (value[pos] - y[pos]) / y[pos]
    out["rel_bias"] = float(np.mean(rel)) if rel.size else float("nan")
    out["rel_sigma68"] = sigma68(rel)
    out["class_names"] = list(names)
    out["confusion_matrix"] = confusion_matrix(true_bin, pred_bin, k).tolist()
    if threshold is not None:
        passed = value >= threshold
        above, below = y >= threshold, y < threshold
        out["threshold"] = float(threshold)
        out["efficiency_above"] = float(passed[above].mean()) if above.any() else float("nan")
        out["rate_below"] = float(passed[below].mean()) if below.any() else float("nan")
        lo = float(edges[0])
        hi = float(min(edges[-1], 3.0 * threshold)) if 3.0 * threshold > max(lo, threshold) else float(edges[-1])
        curve = turn_on(y, passed, np.linspace(lo, hi, 31))
        out["turn_on_50"] = crossing(curve["centres"], curve["efficiency"], 0.5)
        out["turn_on"] = {key: curve[key].tolist() for key in ("centres", "efficiency", "lo", "hi", "n")}
    return out
