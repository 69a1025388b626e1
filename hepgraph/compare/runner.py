"""Train and evaluate several models on the same dataset, split, seed and budget.

Each model is trained with :func:`hepgraph.train.run` (same data, same ``train``/``val``
split, same seed, same number of epochs or the same wall-clock budget), then evaluated on
the ``test`` split with :func:`hepgraph.runs.evaluate.evaluate`; inference throughput and
peak memory are measured around a separate pass over the test split.

>>> res = compare_models("ds", ["mlp", "edgeconv"], out="cmp", epochs=2)   # doctest: +SKIP
>>> [m["test"]["accuracy"] for m in res["models"]]                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hepgraph.compare.measure import PeakMemory, Timer, count_parameters
from hepgraph.errors import ConfigError, setting

log = logging.getLogger(__name__)

#: Epoch cap when only a wall-clock budget is given.
BUDGET_MAX_EPOCHS = 10_000


class _BudgetReached(Exception):
    """Raised from the epoch-end hook to stop a run once the budget is spent."""


class _BudgetCallback:
    """Trainer callback: forwards to ``inner`` and stops after the epoch that spends the budget."""

    def __init__(self, budget_s: float | None, inner: Any = None) -> None:
        self.budget_s, self.inner = budget_s, inner
        self.t0 = time.perf_counter()

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        if self.inner is not None:
            self.inner.on_epoch_start(epoch, epochs, steps)

    def on_step(self, info: Mapping[str, Any]) -> None:
        if self.inner is not None:
            self.inner.on_step(info)

    def on_epoch_end(self, record: Mapping[str, Any]) -> None:
        if self.inner is not None:
            self.inner.on_epoch_end(record)
        if self.budget_s is not None and time.perf_counter() - self.t0 >= self.budget_s:
            raise _BudgetReached


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The per-epoch records of ``RUN/metrics.jsonl``."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def time_to_target(history: Sequence[Mapping[str, Any]], key: str, target: float | None,
                   mode: str) -> tuple[int | None, float | None]:
    """First epoch whose ``key`` reaches ``target`` and the training seconds spent until then.

    Args:
        history: epoch records (``train_time_s`` per epoch).
        key: the record key (e.g. ``val_accuracy``).
        target: the value to reach (None -> ``(None, None)``).
        mode: ``max`` (reach = value >= target) or ``min`` (value <= target).

    Returns:
        ``(epoch, seconds)`` or ``(None, None)`` when never reached.
    """
    if target is None:
        return None, None
    spent = 0.0
    for rec in history:
        spent += float(rec.get("train_time_s", 0.0))
        v = rec.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if (v >= target) if mode == "max" else (v <= target):
            return int(rec["epoch"]), spent
    return None, None


def _flags(data: str, model: str, task: str | None, epochs: int, seed: int, device: str,
           batch_size: int | None) -> dict[str, Any]:
    return {"model.name": model, "data.train": data, "task.name": task, "train.epochs": epochs,
            "seed": seed, "train.device": device, "train.batch_size": batch_size}


def _inference(run_dir: Path, data: str, device: str, batch_size: int) -> dict[str, float]:
    """Events/s and peak memory of one pass of the best checkpoint over the test split."""
    from hepgraph.runs.load import iterate, load_run, open_eval_data

    loaded = load_run(run_dir, device)
    ds = open_eval_data(data, "test")
    n = 0
    with PeakMemory(device) as mem, Timer(device) as t:
        for batch, _ in iterate(loaded, ds, batch_size, 0, device):
            n += batch.batch_size
    return {"infer_events_per_s": n / max(t.seconds, 1e-9), "peak_infer_mib": mem.peak_mib,
            "parameters": count_parameters(loaded.model), "test_events": n}


def train_and_evaluate(data: str | Path, model: str, out: str | Path, *, task: str | None = None,
                       epochs: int | None = None, budget_minutes: float | None = None,
                       seed: int = 0, device: str = "cpu", batch_size: int | None = None,
                       config: str | Path | None = None, overrides: Sequence[str] = (),
                       target: float | None = None, callback: Any = None) -> dict[str, Any]:
    """Train one model, evaluate it on the test split and measure it.

    Args:
        data: dataset directory (its ``train``/``val``/``test`` splits are used).
        model: registered model name.
        out: directory of this model (``out/run`` = run directory, ``out/test`` = evaluation).
        task, epochs, seed, device, batch_size, config, overrides: as for ``hepgraph train``.
        budget_minutes: stop after the epoch during which this wall-clock budget is spent.
        target: headline value whose first crossing (validation) is timed.
        callback: trainer progress hooks.

    Returns:
        A dict: ``model``, ``headline``, ``mode``, ``history`` (epoch records), ``test`` (test
        metrics), ``train_events_per_s``, ``infer_events_per_s``, ``peak_train_mib``,
        ``peak_infer_mib``, ``parameters``, ``train_seconds``, ``epochs``, ``budget_stopped``,
        ``target_epoch``, ``target_seconds``, ``run_dir``.
    """
    from hepgraph.runs.evaluate import evaluate
    from hepgraph.runs.load import load_run
    from hepgraph.train import resolve, run

    out, data = Path(out), str(data)
    if epochs is None and budget_minutes is None:
        raise ConfigError(f"give {setting('epochs', 'N')} or {setting('budget_minutes', 'M')} (the same for every model)")
    n_ep = epochs if epochs is not None else BUDGET_MAX_EPOCHS
    cfg = resolve(config, _flags(data, model, task, n_ep, seed, device, batch_size), list(overrides))
    dev = "cuda" if cfg.train.device in ("cuda", "auto") and _cuda() else "cpu"
    run_dir = out / "run"
    cb = _BudgetCallback(budget_minutes * 60.0 if budget_minutes is not None else None, callback)
    stopped = False
    with PeakMemory(dev) as mem, Timer(dev) as wall:
        try:
            run(cfg, run_dir, overwrite=True, callback=cb)
        except _BudgetReached:
            stopped = True
    history = read_history(run_dir)
    loaded = load_run(run_dir, "cpu")
    metric, mode = loaded.task.headline
    del loaded
    bs = cfg.eval.batch_size or cfg.train.batch_size
    test = evaluate(run_dir, data, out / "test", split="test", device=dev, batch_size=bs,
                    overwrite=True)
    inf = _inference(run_dir, data, dev, bs)
    tr_ev = sum(float(r.get("train_events", 0)) for r in history)
    tr_s = sum(float(r.get("train_time_s", 0)) for r in history)
    t_ep, t_s = time_to_target(history, f"val_{metric}", target, mode)
    return {
        "model": model, "headline": metric, "mode": mode, "history": history, "test": test,
        "train_events_per_s": tr_ev / max(tr_s, 1e-9), "peak_train_mib": mem.peak_mib,
        "train_seconds": tr_s, "wall_seconds": wall.seconds, "epochs": len(history),
        "budget_stopped": stopped, "target_epoch": t_ep, "target_seconds": t_s,
        "run_dir": str(run_dir), **inf,
    }


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def compare_models(data: str | Path, models: Sequence[str], out: str | Path, *,
                   model_overrides: Mapping[str, Sequence[str]] | None = None,
                   progress: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Train, evaluate and measure each model in turn; returns the comparison record.

    Args:
        data: dataset directory.
        models: registered model names (each trained with the same settings), or
            ``label=name`` entries to compare one model under several options (e.g.
            ``binary=small-cnn,total=small-cnn`` with per-label ``model_overrides``).
        out: comparison directory; model (label) ``m`` goes to ``out/models/m``.
        model_overrides: extra ``--set`` overrides per label (e.g. ``model.base_channels=8``).
        progress: object with ``on_model(name, index, total)`` plus the trainer hooks, or None.
        **kwargs: passed to :func:`train_and_evaluate` (task, epochs, budget_minutes, seed,
            device, batch_size, config, overrides, target).

    Returns:
        ``{"data", "settings", "models": [per-model dicts]}``.

    Raises:
        ConfigError: no models, or a model named twice.
    """
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise ConfigError(f"no models given: set {setting('models', 'a,b')} (see `hepgraph models`)")
    dup = sorted({m for m in names if names.count(m) > 1})
    if dup:
        raise ConfigError(f"model `{dup[0]}` is given twice in {setting('models')}; list each model once")
    import hepgraph.models  # noqa: F401  (fills MODELS)
    from hepgraph.registry import MODELS

    for entry in names:  # every name checked before anything is trained
        MODELS.get(entry.partition("=")[2].strip() if "=" in entry else entry)
    out = Path(out)
    per = dict(model_overrides or {})
    base = list(kwargs.pop("overrides", None) or ())
    results = []
    for i, entry in enumerate(names):
        label, _, name = entry.partition("=") if "=" in entry else (entry, "", entry)
        if progress is not None and hasattr(progress, "on_model"):
            progress.on_model(label, i, len(names))
        kw = {**kwargs, "overrides": [*base, *per.get(label, ())]}
        log.info("compare: training %s (%d/%d)", entry, i + 1, len(names))
        r = train_and_evaluate(data, name.strip(), out / "models" / label.strip(), callback=progress, **kw)
        r["model"], r["architecture"] = label.strip(), name.strip()
        results.append(r)
    settings = {**{k: v for k, v in kwargs.items() if k != "callback"}, "overrides": base,
                "model_overrides": per}
    return {"data": str(data), "settings": _plain(settings), "models": results}


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v
