"""The training loop: steps, validation, checkpoints, early stopping, AMP, DDP.

Determinism: every epoch starts by seeding torch/numpy/python from ``(seed, epoch)`` and
the loader order is seeded per epoch too, so an epoch's result depends only on the state
at its start. ``--resume`` restores that state from ``checkpoints/last.pt`` (written at
every epoch end) and gives, on CPU, the same metrics as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.hitbatch import HitBatch
from hepgraph.runs.checkpoint import rng_state, save_checkpoint, set_rng_state
from hepgraph.runs.config import RunConfig
from hepgraph.runs.layout import write_text_atomic
from hepgraph.tasks.base import Task, concat_arrays
from hepgraph.train.distributed import DistInfo, all_reduce_sum, broadcast_flag, gather_arrays
from hepgraph.train.optim import Schedule

log = logging.getLogger(__name__)
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


#: Steps between reading the loss back from the device (progress, NaN check).
SYNC_EVERY = 10


class Callback(Protocol):
    """Progress and logging hooks (the CLI's rich display, :mod:`hepgraph.train.loggers`).

    ``on_step`` gets ``epoch``, ``step`` (in the epoch), ``global_step``, ``steps``, ``loss``,
    ``lr`` and ``events_per_s``; ``on_epoch_end`` the epoch record (as in ``metrics.jsonl``).
    A callback may also define ``on_train_end(records)``, called once when :meth:`Trainer.fit`
    returns.
    """

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None: ...
    def on_step(self, info: Mapping[str, Any]) -> None: ...
    def on_epoch_end(self, record: Mapping[str, Any]) -> None: ...


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    random.seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch (loader order, dropout, augmentation)."""
    return (int(seed) * 1_000_003 + 7919 * int(epoch)) % (2**31 - 1)


def scalars(metrics: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """The float metrics of a dict, keys prefixed (lists such as confusion matrices dropped)."""
    return {f"{prefix}{k}": float(v) for k, v in metrics.items()
            if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)}


def _start_epoch(train_loader: Callable[[int], Iterable[HitBatch]], epoch: int) -> Iterator[HitBatch]:
    """Epoch ``epoch``'s batch iterator, started now (loader workers begin fetching).

    Making a DataLoader iterator draws a worker seed from the global RNG; it is made inside
    ``fork_rng`` so that when it is made (ahead or not) never changes the training's random
    stream (a resumed run must match an uninterrupted one).
    """
    with torch.random.fork_rng(devices=[]):
        return iter(train_loader(epoch))


class Trainer:
    """Trains ``model`` + ``task`` with one optimizer and an optional schedule.

    Args:
        model: the model (already on ``device``; wrapped in DDP by the trainer when needed).
        task: the task (loss and metrics).
        optimizer: the optimizer over ``model.parameters()``.
        schedule: optional :class:`~hepgraph.train.optim.Schedule`.
        cfg: the resolved run config (seed, ``train`` section).
        device: where to compute.
        info: distributed placement (rank, world size).
        run_dir: where checkpoints and ``metrics.jsonl`` go (rank 0 only); None = no files.
        meta: extra checkpoint entries (``config``, ``features``, ``manifest_hash`` as strings).
        callback: progress hooks (rank 0 only).
    """

    def __init__(self, model: nn.Module, task: Task, optimizer: torch.optim.Optimizer,
                 schedule: Schedule | None, cfg: RunConfig, device: torch.device,
                 info: DistInfo = DistInfo(), run_dir: Path | None = None,
                 meta: Mapping[str, Any] | None = None, callback: Callback | None = None) -> None:
        self.cfg, self.tc = cfg, cfg.train
        self.device, self.info = device, info
        self.model, self.task = model, task.to(device)
        self.optimizer, self.schedule = optimizer, schedule
        self.run_dir, self.meta = run_dir, dict(meta or {})
        self.callback = callback if info.is_main else None
        amp = self.tc.amp
        if amp == "fp16" and device.type != "cuda":
            raise ConfigError(f"train.amp `fp16` needs a CUDA device; use {setting('train.amp', 'bf16')} on CPU or "
                              f"{setting('train.amp', 'false')}")
        self.amp_dtype = AMP_DTYPES.get(amp) if amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16" and device.type == "cuda")
        self.ddp = model
        if info.enabled:
            self.ddp = nn.parallel.DistributedDataParallel(
                model, device_ids=[info.local_rank] if device.type == "cuda" else None,
                find_unused_parameters=self.tc.find_unused_parameters)
        self.epoch, self.step, self.stale = 0, 0, 0
        self.best: float | None = None
        self.headline_key = ""
        name, mode = task.headline
        self.headline, self.mode = name, mode

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def lr(self) -> float:
        """Current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def train_epoch(self, loader: Iterable[HitBatch], steps: int) -> dict[str, float]:
        """One pass over ``loader`` (at most ``steps`` batches); returns loss and throughput."""
        self.ddp.train()
        tot_ev, data_t, first_t, lv = 0, 0.0, 0.0, float("nan")
        # On a GPU the loss stays on the device and is read back every SYNC_EVERY steps, so
        # the host prepares the next batch while the GPU works instead of waiting for it.
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        sync_every = SYNC_EVERY if self.device.type == "cuda" else 1
        t0 = last = time.perf_counter()
        for i, batch in enumerate(loader):
            if i >= steps:
                break
            waited = time.perf_counter() - last
            data_t += waited
            if i == 0:
                first_t = waited              # the epoch's first batch (workers restart their queues)
            batch = batch.to(self.device, non_blocking=True)
            with self._autocast():
                outputs = self.ddp(batch)
                result = self.task(outputs, batch)
            loss = result["loss"]
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.tc.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.tc.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.schedule is not None and self.schedule.interval == "step":
                self.schedule.scheduler.step()
            self.step += 1
            nev = batch.batch_size
            loss_sum += loss.detach().double() * nev
            tot_ev += nev
            if (i + 1) % sync_every == 0 or i + 1 == steps:
                lv = float(loss.detach())
                if not math.isfinite(float(loss_sum)):
                    raise DataError(
                        f"loss is {lv} at epoch {self.epoch + 1} by step {i + 1}; lower {setting('train.lr')}, "
                        "set train.grad_clip or check the input features")
            now = time.perf_counter()
            info = {"epoch": self.epoch + 1, "step": i + 1, "global_step": self.step, "steps": steps,
                    "loss": lv, "lr": self.lr(), "events_per_s": tot_ev / max(now - t0, 1e-9)}
            if self.callback is not None:
                self.callback.on_step(info)
            if self.tc.log_every and (i + 1) % self.tc.log_every == 0:
                log.info("epoch %d step %d/%d loss %.5g lr %.3g %.1f events/s", info["epoch"], i + 1,
                         steps, lv, info["lr"], info["events_per_s"])
            last = time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        tot_loss = float(loss_sum)
        if not math.isfinite(tot_loss):
            raise DataError(f"loss is {tot_loss} in epoch {self.epoch + 1}; lower {setting('train.lr')}, set "
                            "train.grad_clip or check the input features")
        sums = all_reduce_sum([tot_loss, float(tot_ev)], self.info, self.device)
        return {"train_loss": sums[0] / max(sums[1], 1.0), "train_events": sums[1],
                "train_time_s": wall, "events_per_s": sums[1] / max(wall, 1e-9),
                "loader_fraction": data_t / max(wall, 1e-9),
                # the same without the epoch's first batch: the steady-state share
                "loader_fraction_steady": (data_t - first_t) / max(wall - first_t, 1e-9)}

    @torch.no_grad()
    def evaluate(self, loader: Iterable[HitBatch]) -> tuple[float, dict[str, Any], dict[str, np.ndarray]]:
        """Loss (event-weighted), task metrics and the collected arrays over ``loader``."""
        self.ddp.eval()
        parts, tot_loss, tot_ev = [], 0.0, 0
        for batch in loader:
            batch = batch.to(self.device, non_blocking=True)
            with self._autocast():
                outputs = self.model(batch)
                result = self.task(outputs, batch)
            tot_loss += float(result["loss"]) * batch.batch_size
            tot_ev += batch.batch_size
            parts.append(self.task.collect(result, batch))
        sums = all_reduce_sum([tot_loss, float(tot_ev)], self.info, self.device)
        acc = gather_arrays(concat_arrays(parts), self.info)
        metrics = self.task.metrics(acc) if acc else {}
        return sums[0] / max(sums[1], 1.0), metrics, acc

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def fit(self, train_loader: Callable[[int], Iterable[HitBatch]], steps_per_epoch: int,
            val_loader: Callable[[], Iterable[HitBatch]] | None = None) -> list[dict[str, Any]]:
        """Train from ``self.epoch`` to ``train.epochs`` (or until early stopping).

        Args:
            train_loader: ``epoch -> iterable of batches`` (order seeded by the epoch).
            steps_per_epoch: batches per epoch.
            val_loader: ``() -> iterable of batches`` or None.

        Returns:
            The metric records of the epochs run now.
        """
        records = []
        ahead: Iterator[HitBatch] | None = None
        while self.epoch < self.tc.epochs:
            seed_everything(epoch_seed(self.cfg.seed, self.epoch))
            if self.callback is not None:
                self.callback.on_epoch_start(self.epoch + 1, self.tc.epochs, steps_per_epoch)
            rec: dict[str, Any] = {"epoch": self.epoch + 1, "lr": self.lr()}
            batches = ahead if ahead is not None else _start_epoch(train_loader, self.epoch)
            rec.update(self.train_epoch(batches, steps_per_epoch))
            # The next epoch's loader workers fetch its first batches while validation runs.
            ahead = _start_epoch(train_loader, self.epoch + 1) if self.epoch + 1 < self.tc.epochs else None
            if val_loader is not None:
                vloss, vmetrics, _ = self.evaluate(val_loader())
                rec["val_loss"] = vloss
                rec.update(scalars(vmetrics, "val_"))
            key = ("val_" if val_loader is not None else "train_") + self.headline
            self.headline_key = key if key in rec else ("val_loss" if "val_loss" in rec else "train_loss")
            value = float(rec[self.headline_key])
            if self.schedule is not None and self.schedule.interval == "epoch":
                if self.schedule.on_metric:
                    self.schedule.scheduler.step(rec.get("val_loss", rec["train_loss"]))
                else:
                    self.schedule.scheduler.step()
            improved = self._improved(value)
            if improved:
                self.best, self.stale = value, 0
            else:
                self.stale += 1
            self.epoch += 1
            rec["step"] = self.step
            rec["best"] = self.best
            records.append(rec)
            self._write(rec, improved)
            log.info("epoch %d/%d %s", rec["epoch"], self.tc.epochs, summary_line(rec))
            if self.callback is not None:
                self.callback.on_epoch_end(rec)
            stop = self.tc.early_stopping is not None and self.stale >= self.tc.early_stopping
            if broadcast_flag(stop, self.info, self.device):
                log.info("early stopping: no improvement of %s for %d epochs", key, self.stale)
                break
        end = getattr(self.callback, "on_train_end", None)
        if end is not None:
            end(records)
        return records

    def weights(self, record: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What ``best.pt`` holds: model and task weights, config, features, the epoch and its
        metrics; no optimizer, scheduler or RNG state (resume uses ``last.pt``), so it is about
        the size of the model's parameters."""
        return {"model": self.model.state_dict(), "task": self.task.state_dict(), "epoch": self.epoch,
                "step": self.step, "best": self.best, "metrics": json.dumps(dict(record or {})),
                **self.meta}

    def state_dict(self) -> dict[str, Any]:
        """Checkpoint contents of ``last.pt`` (weights_only-safe): weights plus optimizer,
        scheduler, scaler and RNG states, for an exact resume."""
        return {
            "model": self.model.state_dict(), "task": self.task.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict() if self.schedule is not None else None,
            "scaler": self.scaler.state_dict(), "epoch": self.epoch, "step": self.step,
            "best": self.best, "stale": self.stale, "rng": rng_state(), **self.meta,
        }

    def load_state_dict(self, ckpt: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (resume)."""
        self.model.load_state_dict(ckpt["model"])
        self.task.load_state_dict(ckpt["task"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.schedule is not None and ckpt.get("scheduler") is not None:
            self.schedule.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
        self.best, self.stale = ckpt.get("best"), int(ckpt.get("stale", 0))
        set_rng_state(ckpt["rng"])

    def _write(self, rec: Mapping[str, Any], improved: bool) -> None:
        if self.run_dir is None or not self.info.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        save_checkpoint(self.run_dir / "checkpoints" / "last.pt", self.state_dict())
        if improved:
            best = save_checkpoint(self.run_dir / "checkpoints" / "best.pt", self.weights(rec))
            summary = {"epoch": rec["epoch"], "metric": self.headline_key, "value": self.best,
                       "checkpoint": "checkpoints/best.pt", "bytes": best.stat().st_size, "record": dict(rec)}
            write_text_atomic(self.run_dir / "best.json", json.dumps(summary, indent=1, default=str) + "\n")


def summary_line(rec: Mapping[str, Any]) -> str:
    """One-line epoch summary: losses, headline metrics, lr, throughput."""
    extra = [k for k in rec if k.startswith("val_") and k != "val_loss"
             and ("/" not in k or k.endswith("/resolution"))]
    keys = ["train_loss", "val_loss", *extra[:5]]
    parts = [f"{k} {rec[k]:.4g}" for k in keys if k in rec and rec[k] is not None]
    parts += [f"lr {rec['lr']:.3g}", f"{rec.get('events_per_s', 0):.1f} ev/s"]
    return " | ".join(parts)


def best_summary(run_dir: str | Path) -> str:
    """One line on the best epoch: where its checkpoint is, its size and its metrics.

    Reads ``RUN/best.json`` (written with ``best.pt``); a run without it gives a short note.
    """
    path = Path(run_dir) / "best.json"
    if not path.is_file():
        return f"no best checkpoint recorded in {run_dir}"
    best = json.loads(path.read_text())
    rec = best.get("record", {})
    shown = [k for k in ("train_loss", "val_loss") if rec.get(k) is not None]
    shown += [k for k in rec if k.startswith("val_") and k not in shown and isinstance(rec[k], (int, float))][:4]
    metrics = ", ".join(f"{k} {rec[k]:.4g}" for k in shown)
    size = best.get("bytes", 0) / 2**20
    return (f"best epoch {best.get('epoch')} by {best.get('metric')} = {best.get('value'):.4g}: "
            f"{Path(run_dir) / str(best.get('checkpoint'))} ({size:.1f} MiB, weights only; last.pt also holds the optimizer "
            f"state for --resume); {metrics}")
