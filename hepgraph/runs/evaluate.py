"""``hepgraph evaluate``: metrics and plots of a trained run on a dataset."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError
from hepgraph.tasks.base import concat_arrays
from hepgraph.runs.load import iterate, load_run, open_eval_data


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
        out: report directory (written atomically).
        split: ``train``/``val``/``test`` view of ``data`` (None = all events).
        batch_size: events per batch (default: the run's eval/train batch size).
        device: ``cpu`` or ``cuda``.
        workers: loader workers.
        max_events: evaluate at most this many events.
        plots: write the task's plots.
        overwrite: replace an existing report directory.
        progress: called with the number of events of each batch.

    Returns:
        The metrics (also in ``metrics.json``), with ``loss``, ``events`` and ``plots``.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise ConfigError(f"report directory `{out}` exists; use --overwrite or another --out")
    loaded = load_run(run, device)
    ds = open_eval_data(data, split, max_events)
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
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        names: list[str] = []
        if plots and acc:
            from hepgraph.report.plots import plot_task

            names = [p.name for p in plot_task(loaded.task, acc, metrics, tmp)]
        metrics["plots"] = names
        (tmp / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=2))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return metrics


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """Scalar metrics for a summary table (per-class lists dropped)."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "events"}
