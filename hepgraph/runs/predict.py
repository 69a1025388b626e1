"""``hepgraph predict``: write a run's predictions to Parquet or ROOT, keyed by event and hit.

Parquet files hold one row per event (event tasks), per hit (``event_id``, ``hit_id``) or
per edge. ROOT files hold one entry per event in dataset order, per-hit and per-edge
values as jagged branches, so the tree can be friended to the original one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hepgraph.errors import ConfigError, MissingDependencyError
from hepgraph.tasks.base import concat_arrays
from hepgraph.runs.load import iterate, load_run, open_eval_data

FORMATS = (".parquet", ".root")


def predict(run: str | Path, data: str | Path, out: str | Path, *, split: str | None = None,
            batch_size: int | None = None, device: str = "cpu", workers: int = 0,
            max_events: int | None = None, overwrite: bool = False, tree: str = "predictions",
            progress: Callable[[int], None] | None = None) -> Path:
    """Run a trained model over a dataset (labels not needed) and write its predictions.

    Args:
        run: run directory or checkpoint.
        data: dataset directory.
        out: ``.parquet`` or ``.root`` file (written through a temporary file).
        split: optional split view.
        batch_size: events per batch.
        device: ``cpu`` or ``cuda``.
        workers: loader workers.
        max_events: at most this many events.
        overwrite: replace an existing file.
        tree: ROOT tree name.
        progress: called with the events of each batch.

    Returns:
        The written file.
    """
    out = Path(out)
    if out.suffix not in FORMATS:
        raise ConfigError(f"--out `{out}` must end in {' or '.join(FORMATS)}")
    if out.exists() and not overwrite:
        raise ConfigError(f"`{out}` exists; use --overwrite or another --out")
    loaded = load_run(run, device)
    ds = open_eval_data(data, split, max_events)
    bs = batch_size or loaded.config.eval.batch_size or loaded.config.train.batch_size
    parts, event_ids = [], []
    for batch, outputs in iterate(loaded, ds, bs, workers, device):
        result = {"output": loaded.task.infer(outputs, batch)}
        parts.append(loaded.task.predictions(result, batch))
        event_ids.append(batch.event_id.cpu().numpy())
        if progress is not None:
            progress(batch.batch_size)
    cols = concat_arrays(parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}{out.suffix}")
    try:
        if out.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({k: np.asarray(v) for k, v in cols.items()}), tmp)
        else:
            _write_root(tmp, cols, np.concatenate(event_ids) if event_ids else np.zeros(0, np.int64),
                        loaded.task.level, tree)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _write_root(path: Path, cols: dict[str, np.ndarray], event_ids: np.ndarray, level: str,
                tree: str) -> None:
    try:
        import awkward as ak
        import uproot
    except ImportError as err:  # pragma: no cover
        raise MissingDependencyError("ROOT output needs uproot and awkward: pip install uproot awkward") from err
    if level == "event":
        branches = {k: np.asarray(v) for k, v in cols.items()}
    else:
        # One entry per event: per-hit/per-edge columns become jagged (counts per event_id).
        row_event = np.asarray(cols["event_id"])
        pos = {int(e): i for i, e in enumerate(event_ids)}
        idx = np.fromiter((pos[int(e)] for e in row_event), np.int64, count=len(row_event))
        order = np.argsort(idx, kind="stable")
        counts = np.bincount(idx, minlength=len(event_ids))
        name = "hit" if level == "hit" else "edge"
        fields = {k: ak.unflatten(np.asarray(v)[order], counts) for k, v in cols.items() if k != "event_id"}
        branches = {"event_id": event_ids.astype(np.int64), name: ak.zip(fields)}
    with uproot.recreate(path) as f:
        f[tree] = branches
