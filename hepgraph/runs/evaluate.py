"""``hepgraph evaluate``: metrics and plots of a trained run on a dataset."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.atomic import atomic_dir, refuse_existing
from hepgraph.errors import DataError
from hepgraph.runs.load import SPLITS, default_split, iterate, load_run, open_eval_data
from hepgraph.tasks.base import concat_arrays


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def evaluate(run: str | Path, data: str | Path, out: str | Path, *, split: str | None = None,
             batch_size: int | None = None, device: str = "cpu", workers: int = 0,
             max_events: int | None = None, plots: bool = True, overwrite: bool = False,
             progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Evaluate a run on a labelled dataset; writes ``OUT/metrics.json`` and PNG plots.

    Args:
        run: run directory (best checkpoint) or checkpoint file.
        data: dataset directory.
        out: report directory (written atomically; an existing one needs ``overwrite``).
        split: ``train``, ``val``, ``test`` or ``all`` events of ``data``; None = ``test``
            when ``data`` is the run's training dataset, else ``all``.
        batch_size: events per batch (default: the run's eval/train batch size).
        device: ``cpu`` or ``cuda``.
        workers: loader workers.
        max_events: evaluate at most this many events.
        plots: write the task's plots.
        overwrite: replace an existing report directory.
        progress: called with the number of events of each batch.

    Returns:
        The metrics (also in ``metrics.json``), with ``split``, ``events``, ``loss``, ``plots``.

    Raises:
        OutputExistsError: ``out`` exists and ``overwrite`` is false.
        ConfigError / DataError: a bad split, a dataset without the task's labels, ...
    """
    refuse_existing(out, overwrite, "report directory")
    loaded = load_run(run, device)
    split = split or default_split(loaded, data)
    ds = open_eval_data(data, split, max_events)
    if len(ds) == 0:
        raise DataError(f"the `{split}` split of `{data}` holds no events; choose another split "
                        f"({', '.join(SPLITS)})")
    loaded.task.check(ds.manifest)
    bs = batch_size or loaded.config.eval.batch_size or loaded.config.train.batch_size
    parts, tot, n = [], 0.0, 0
    for batch, outputs in iterate(loaded, ds, bs, workers, device):
        result = loaded.task(outputs, batch)
        parts.append(loaded.task.collect(result, batch))
        tot += float(result["loss"]) * batch.batch_size
        n += batch.batch_size
        if progress is not None:
            progress(batch.batch_size)
    acc = concat_arrays(parts)
    metrics: dict[str, Any] = {"task": loaded.task.name, "model": loaded.config.model.name,
                               "checkpoint": str(loaded.path), "data": str(data), "split": split,
                               "events": n, "loss": tot / max(n, 1)}
    metrics.update(loaded.task.metrics(acc) if acc else {})
    with atomic_dir(out, overwrite=overwrite, what="report directory") as tmp:
        names: list[str] = []
        if plots and acc:
            from hepgraph.report.plots import plot_task

            names = [p.name for p in plot_task(loaded.task, acc, metrics, tmp)]
        metrics["plots"] = names
        (tmp / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=2))
    return metrics


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """Scalar metrics for a summary table (per-class lists dropped)."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "events"}
