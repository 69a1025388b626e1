"""Experiment tracking on the trainer's callback protocol: CSV and TensorBoard loggers.

``hepgraph train --logger csv`` writes ``RUN/metrics.csv`` (one row per epoch, every
scalar of the epoch record: losses, validation metrics, learning rate, throughput);
``--logger tensorboard`` writes TensorBoard event files under ``RUN/tensorboard/``
(``train/loss`` and ``train/lr`` per step, every epoch scalar per epoch, all against the
global step; ``tensorboard --logdir RUN/tensorboard``). ``metrics.jsonl`` is written
whatever the logger. A resumed run continues the same files: rows and events of epochs
after the checkpoint (written before a kill) are dropped.

>>> logger = make_logger("csv", run_dir)                      # doctest: +SKIP
>>> trainer = Trainer(..., callback=CallbackList([progress, logger]))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hepgraph.errors import ConfigError, MissingDependencyError
from hepgraph.runs.config import LOGGERS

__all__ = ["LOGGERS", "CSVLogger", "CallbackList", "TensorBoardLogger", "make_logger"]


def _scalar(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if not isinstance(v, bool) else None


class CallbackList:
    """Several callbacks as one (the CLI's progress display and a logger).

    Args:
        callbacks: objects with any of ``on_epoch_start``, ``on_step``, ``on_epoch_end``,
            ``on_train_end``; ``None`` entries are skipped.
    """

    def __init__(self, callbacks: Sequence[Any]) -> None:
        self.callbacks = [c for c in callbacks if c is not None]

    def _call(self, name: str, *args: Any) -> None:
        for c in self.callbacks:
            fn = getattr(c, name, None)
            if fn is not None:
                fn(*args)

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Forwarded to every callback."""
        self._call("on_epoch_start", epoch, epochs, steps)

    def on_step(self, info: Mapping[str, Any]) -> None:
        """Forwarded to every callback."""
        self._call("on_step", info)

    def on_epoch_end(self, record: Mapping[str, Any]) -> None:
        """Forwarded to every callback."""
        self._call("on_epoch_end", record)

    def on_train_end(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Forwarded to every callback."""
        self._call("on_train_end", records)


class CSVLogger:
    """One CSV row per epoch in ``path`` (columns: every scalar key seen, in order of appearance).

    The file is rewritten atomically at each epoch end, so it is always complete.

    Args:
        path: the CSV file (``RUN/metrics.csv``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, Any]] | None = None
        self.columns: list[str] = []

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Load the rows of earlier epochs (a resumed run), dropping any from ``epoch`` on."""
        if self.rows is not None:
            return
        self.rows = []
        if self.path.is_file():
            with open(self.path, newline="") as fh:
                for row in csv.DictReader(fh):
                    if _scalar(row.get("epoch")) is not None and float(row["epoch"]) < epoch:
                        self.rows.append(row)
                        self.columns += [k for k in row if k not in self.columns]

    def on_step(self, info: Mapping[str, Any]) -> None:
        """Nothing per step (the CSV holds epochs)."""

    def on_epoch_end(self, record: Mapping[str, Any]) -> None:
        """Append the epoch's scalars and rewrite the file."""
        from hepgraph.atomic import atomic_file

        if self.rows is None:
            self.on_epoch_start(int(record.get("epoch", 1)), 0, 0)
        assert self.rows is not None
        row = {k: v for k, v in record.items() if v is None or _scalar(v) is not None}
        self.columns += [k for k in row if k not in self.columns]
        self.rows.append(row)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_file(self.path, overwrite=True, what="metrics CSV") as tmp:
            tmp.write_text(buf.getvalue())


class TensorBoardLogger:
    """TensorBoard scalars through ``torch.utils.tensorboard`` (needs the ``tensorboard`` package).

    Args:
        log_dir: the event-file directory (``RUN/tensorboard``).
    """

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self.writer: Any = None
        self.step = 0
        check_tensorboard()

    def _open(self, first_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step drops events a killed session wrote after the checkpoint it resumes from
        self.writer = SummaryWriter(str(self.log_dir), purge_step=first_step if first_step > 1 else None)

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Nothing at epoch start."""

    def on_step(self, info: Mapping[str, Any]) -> None:
        """``train/loss`` (when read back from the device) and ``train/lr`` at the global step."""
        self.step = int(info.get("global_step", self.step + 1))
        if self.writer is None:
            self._open(self.step)
        loss = _scalar(info.get("loss"))
        if loss is not None and math.isfinite(loss):
            self.writer.add_scalar("train/loss", loss, self.step)
        lr = _scalar(info.get("lr"))
        if lr is not None:
            self.writer.add_scalar("train/lr", lr, self.step)

    def on_epoch_end(self, record: Mapping[str, Any]) -> None:
        """Every scalar of the epoch record: ``train_x`` as ``train/x``, ``val_x`` as ``val/x``."""
        step = int(record.get("step", self.step))
        if self.writer is None:
            self._open(step)
        for key, value in record.items():
            v = _scalar(value)
            if v is None or key == "step" or not math.isfinite(v):
                continue
            tag = _tag(key)
            self.writer.add_scalar(tag, v, step)
        self.writer.flush()

    def on_train_end(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Flush and close the event file."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _tag(key: str) -> str:
    """TensorBoard tag of an epoch-record key (``val_accuracy`` -> ``val/accuracy``)."""
    if key == "train_loss":
        return "train/loss_epoch"  # beside the per-step train/loss
    for prefix in ("train_", "val_"):
        if key.startswith(prefix):
            return f"{prefix[:-1]}/{key[len(prefix):]}"
    return f"epoch/{key}"


def check_tensorboard() -> None:
    """Raise :class:`MissingDependencyError` when ``tensorboard`` is not installed."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise MissingDependencyError("the tensorboard logger needs the tensorboard package: "
                                     "pip install hepgraph[tensorboard] (or choose the csv logger)")


def make_logger(name: str | None, run_dir: str | Path) -> CSVLogger | TensorBoardLogger | None:
    """The logger called ``name`` (``none``, ``csv``, ``tensorboard``) writing into ``run_dir``.

    Raises:
        ConfigError: unknown name.
        MissingDependencyError: ``tensorboard`` without the tensorboard package.
    """
    name = name or "none"
    if name not in LOGGERS:
        raise ConfigError(f"logger `{name}` is unknown; use one of {', '.join(LOGGERS)}")
    run_dir = Path(run_dir)
    if name == "csv":
        return CSVLogger(run_dir / "metrics.csv")
    if name == "tensorboard":
        return TensorBoardLogger(run_dir / "tensorboard")
    return None
