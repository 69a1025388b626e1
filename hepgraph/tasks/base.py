"""The ``Task`` base class: targets, loss, metrics and prediction columns for one problem.

A task sits after the model: it reads the model's output dict (``out`` and, for edge
tasks, ``edge_index``) and the :class:`~hepgraph.events.HitBatch` it came from, and
returns the loss plus the predictions in physical units. Tasks are registered in
:data:`hepgraph.registry.TASKS` and built from a config block::

    task: {name: regression, targets: [px, py, pz], loss: nll}

New task recipe: subclass :class:`Task`, set ``name``/``level``/``headline``, implement
``out_channels``, ``targets``, ``forward``, ``collect``, ``metrics`` and ``predictions``,
list the dataset columns it reads in ``columns`` (batches carry only what the task and the
model declare), and register it with ``@TASKS.register("my-task")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.errors import DataError, setting
from hepgraph.events.hitbatch import HitBatch

Arrays = dict[str, np.ndarray]


def manifest_columns(manifest: Mapping[str, Any] | None) -> set[str]:
    """Column names a dataset manifest declares."""
    return set((manifest or {}).get("columns", {}) or {})


def require_columns(manifest: Mapping[str, Any] | None, columns: Sequence[str], task: str) -> None:
    """Raise :class:`DataError` when the dataset lacks a column the task needs.

    Raises:
        DataError: names the missing column and the task.
    """
    have = manifest_columns(manifest)
    missing = [c for c in columns if c not in have]
    if missing:
        default = (manifest or {}).get("default_task")
        hint = f"; this dataset's default task is `{default}`" if default else ""
        raise DataError(
            f"task `{task}` needs column(s) {', '.join(f'`{c}`' for c in missing)} but the dataset "
            f"has none (columns: {', '.join(sorted(have)) or 'none'}){hint}; choose another {setting('task.name')}"
        )


def concat_arrays(parts: Sequence[Mapping[str, np.ndarray]]) -> Arrays:
    """Concatenate per-batch dicts of arrays along axis 0 (keys of the first dict)."""
    if not parts:
        return {}
    return {k: np.concatenate([np.asarray(p[k]) for p in parts], axis=0) for k in parts[0]}


def balanced_weights(counts: np.ndarray) -> np.ndarray:
    """Inverse-frequency class weights ``sum(counts) / (K * counts)`` (empty classes count 1).

    Shapes:
        - **counts:** (K,) examples per class -> (K,) float64 weights
    """
    c = np.asarray(counts, dtype=np.float64)
    return c.sum() / np.maximum(c, 1) / len(c)


def to_numpy(t: Tensor) -> np.ndarray:
    """Detach, move to CPU, cast low-precision floats to float32, return numpy."""
    t = t.detach()
    if t.is_floating_point() and t.dtype != torch.float64:
        t = t.float()
    return t.cpu().numpy()


def hit_ids(batch: HitBatch) -> Tensor:
    """(N,) hit ids: the source's ``hit_id`` when present, else the index within the event."""
    if "hit_id" in batch.hit:
        return batch.hit["hit_id"].long()
    idx = torch.arange(batch.num_hits, device=batch.ptr.device)
    return idx - batch.ptr[:-1].repeat_interleave(batch.counts)


class Task(nn.Module):
    """Base class of training tasks.

    Attributes:
        name: registered name.
        level: ``event``, ``hit`` or ``edge`` (what one model output row describes).
        headline: ``(metric, "max"|"min")`` used for ``best.pt`` and early stopping.
    """

    name: ClassVar[str] = "task"
    level: ClassVar[str] = "event"
    headline: ClassVar[tuple[str, str]] = ("loss", "min")

    @property
    def out_channels(self) -> int:
        """Number of model output channels this task needs."""
        raise NotImplementedError

    @property
    def columns(self) -> tuple[str, ...]:
        """Dataset columns the task reads from a batch (targets, ``hit_id`` for per-hit
        predictions); the loader reads and ships only these, the model's and the features'.
        A column the dataset lacks is skipped (``check`` reports missing labels)."""
        return ()

    def check(self, manifest: Mapping[str, Any]) -> None:
        """Raise :class:`DataError` when the dataset has no labels for this task."""

    def fit(self, sample: Mapping[str, np.ndarray]) -> None:
        """Learn data-dependent settings (class counts, standardisation) from training events.

        Args:
            sample: event-level columns of (a sample of) the training set, each (n,), plus
                ``semantic_counts`` (K,) hits per semantic class when the data have them.
        """

    def hparams(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this task (after :meth:`fit`), JSON-serialisable."""
        return {}

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        """Truth tensors for ``batch`` (shape per level)."""
        raise NotImplementedError

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        """Predictions in physical units from the model outputs (no truth needed)."""
        raise NotImplementedError

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        """Loss and predictions.

        Args:
            outputs: the model's output dict (``out`` plus ``edge_index`` for edge tasks).
            batch: the batch the outputs belong to.

        Returns:
            ``{"loss": scalar Tensor, "output": {name: Tensor}, "targets": {name: Tensor}}``;
            ``output`` holds predictions in physical units (probabilities, means, sigmas).
        """
        raise NotImplementedError

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        """Numpy arrays kept from one batch for :meth:`metrics` (concatenated over batches)."""
        raise NotImplementedError

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Metrics from the concatenated :meth:`collect` arrays (floats, or lists for per-class)."""
        raise NotImplementedError

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        """Columns written by ``hepgraph predict`` for one batch (keyed by ``event_id``...).

        Only ``result["output"]`` (from :meth:`infer`) is used, so unlabelled data work.
        """
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.hparams().items())
