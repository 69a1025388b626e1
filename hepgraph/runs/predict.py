"""``hepgraph predict``: a run's predictions as a flat table analysts can join and read.

One row per event (event tasks), per hit (``event_id``, ``hit_id``) or per edge
(``event_id``, ``hit_id_src``, ``hit_id_dst``), written by
:func:`hepgraph.store.tables.write_table` as a ROOT TTree (one entry per row), Parquet or
CSV, with identifier-safe names (``prob_e_minus``), the class index ``pred`` with the class
names (``classes`` tree / Parquet metadata) and, where the dataset has them, the task's
truth columns under their dataset names (``label``, ``semantic``, ``track_id``, ``px``...;
edges: ``truth``), so the file stands alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.atomic import refuse_existing
from hepgraph.errors import DataError
from hepgraph.events.schema import kind_of
from hepgraph.runs.load import iterate, load_run, open_eval_data
from hepgraph.store.tables import table_format, write_table
from hepgraph.tasks.base import Task, concat_arrays, to_numpy

#: Output suffixes.
FORMATS = (".parquet", ".root", ".csv")


def truth_columns(task: Task, batch: Any, result: dict[str, Any], taken: set[str]) -> dict[str, np.ndarray]:
    """The task's truth for one batch, as rows matching :meth:`Task.predictions`.

    Event tasks: their event columns (``label``, ``n_tracks``, regression targets); hit tasks:
    their hit columns (``semantic``, ``track_id``); edge tasks: ``truth`` (1 = same particle).
    A column the batch lacks (unlabelled data) is left out; a name already used by a
    prediction gets a ``true_`` prefix.
    """
    out: dict[str, np.ndarray] = {}
    level = task.level
    if level == "edge":
        try:
            y = task.targets(batch, result["output"]["edge_index"])["y"]
        except (DataError, KeyError, TypeError):
            return out
        return {"truth": to_numpy(y).astype(np.int8)}
    source = batch.event if level == "event" else batch.hit
    for c in task.columns:
        if c == "hit_id" or c not in source or kind_of(c) != ("event" if level == "event" else "hit"):
            continue
        out[f"true_{c}" if c in taken else c] = to_numpy(source[c])
    return out


def predict(run: str | Path, data: str | Path, out: str | Path, *, split: str | None = None,
            batch_size: int | None = None, device: str = "cpu", workers: int = 0,
            max_events: int | None = None, overwrite: bool = False, tree: str = "predictions",
            progress: Callable[[int], None] | None = None) -> Path:
    """Run a trained model over a dataset (labels not needed) and write its predictions.

    Args:
        run: run directory or checkpoint.
        data: dataset directory.
        out: ``.root`` (TTree), ``.parquet`` or ``.csv`` file (written atomically).
        split: optional split view.
        batch_size: events per batch.
        device: ``cpu`` or ``cuda``.
        workers: loader workers.
        max_events: at most this many events.
        overwrite: replace an existing file; without it an existing file is refused (and kept).
        tree: ROOT tree name.
        progress: called with the events of each batch.

    Returns:
        The written file.

    Raises:
        ConfigError: an unknown suffix. OutputExistsError: ``out`` exists without ``overwrite``.
    """
    table_format(out)
    refuse_existing(out, overwrite)
    loaded = load_run(run, device)
    ds = open_eval_data(data, split, max_events)
    bs = batch_size or loaded.config.eval.batch_size or loaded.config.train.batch_size
    parts = []
    for batch, outputs in iterate(loaded, ds, bs, workers, device):
        result = {"output": loaded.task.infer(outputs, batch)}
        cols = loaded.task.predictions(result, batch)
        cols.update(truth_columns(loaded.task, batch, result, set(cols)))
        parts.append(cols)
        if progress is not None:
            progress(batch.batch_size)
    cols = concat_arrays(parts)
    names = getattr(loaded.task, "names", None)
    classes = names() if callable(names) and "pred" in cols else None
    return write_table(out, cols, overwrite=overwrite, tree=tree, classes=classes)
