"""``hepgraph.train.run``: one training run from a resolved config to a run directory
(layout in :mod:`hepgraph.runs.layout`).

>>> from hepgraph.train import run, validate                                  # doctest: +SKIP
>>> run(validate({"data": {"train": "ds"}, "model": "mlp", "task": "regression"}), "runs/r1")
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml

from hepgraph.errors import ConfigError
from hepgraph.registry import OPTIMIZERS, SCHEDULERS
from hepgraph.runs.build import (build_model, build_task, fit_sample, loader_columns, model_kwargs,
                                  resolve_features)
from hepgraph.runs.checkpoint import config_of, load_checkpoint, manifest_hash
from hepgraph.runs.layout import is_run_dir, pick_device, write_text_atomic
from hepgraph.runs.config import Component, RunConfig, check_component, validate
from hepgraph.train.distributed import ShardedSampler, init_distributed, shutdown
from hepgraph.train.optim import OPTIMIZER_INJECTED, SCHEDULER_INJECTED, Schedule
from hepgraph.train.trainer import Callback, Trainer, epoch_seed, seed_everything

log = logging.getLogger(__name__)


def _datasets(cfg: RunConfig) -> tuple[Any, Any]:
    from hepgraph import open_dataset

    if not cfg.data.train:
        raise ConfigError("no training data: give --data DIR (data.train)")
    full = open_dataset(cfg.data.train)
    if cfg.data.val:
        return full, open_dataset(cfg.data.val)
    return full.split("train"), full.split("val")


def _optimizer(cfg: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    block = cfg.train.optimizer
    fn = OPTIMIZERS.get(block.name or "adamw")
    check_component("train.optimizer", fn, block.kwargs, injected=OPTIMIZER_INJECTED)
    return fn(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, **block.kwargs)


def _schedule(cfg: RunConfig, opt: torch.optim.Optimizer, steps: int) -> Schedule | None:
    block = cfg.train.scheduler
    if not block.name:
        return None
    fn = SCHEDULERS.get(block.name)
    check_component("train.scheduler", fn, block.kwargs, injected=SCHEDULER_INJECTED)
    return fn(opt, epochs=cfg.train.epochs, steps_per_epoch=steps, **block.kwargs)


def _attach_log(path: Path | None) -> logging.Handler | None:
    if path is None:
        return None
    h = logging.FileHandler(path)
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("hepgraph")
    root.addHandler(h)
    root.setLevel(logging.INFO)
    return h


def run(cfg: RunConfig | None, out: str | Path, *, resume: bool = False, epochs: int | None = None,
        overwrite: bool = False, callback: Callback | None = None) -> Path:
    """Train and write the run directory.

    Args:
        cfg: the validated config (ignored with ``resume``: the config stored in ``last.pt``
            is used).
        out: the run directory.
        resume: continue from ``out/checkpoints/last.pt``.
        epochs: with ``resume``, a new total number of epochs (None = as stored).
        overwrite: allow a non-empty ``out`` that is not resumed.
        callback: progress hooks (rank 0).

    Returns:
        The run directory.

    Raises:
        ConfigError / DataError / UnknownNameError: bad config, names or data.
    """
    out = Path(out)
    ckpt = None
    if resume:
        if not is_run_dir(out):
            raise ConfigError(f"`{out}` is not a hepgraph run directory (no config.yaml and "
                              "checkpoints/last.pt); give the --out of an earlier `hepgraph train`")
        ckpt = load_checkpoint(out / "checkpoints" / "last.pt")
        cfg = validate(config_of(ckpt))
        if epochs is not None:
            cfg = cfg.replace(train=dataclasses.replace(cfg.train, epochs=int(epochs)))
    elif cfg is None:
        raise ConfigError("no run config given")
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"run directory `{out}` exists and is not empty; use --resume {out} to "
                          "continue it, --overwrite to replace it, or another --out")
    info = init_distributed("cuda" if cfg.train.device != "cpu" and torch.cuda.is_available() else "cpu")
    device = pick_device(cfg.train.device, info.local_rank)
    handler = None
    try:
        seed_everything(cfg.seed)
        train_ds, val_ds = _datasets(cfg)
        manifest = train_ds.manifest
        task = build_task(cfg.task, manifest)
        features = resolve_features(cfg.data.features, manifest)
        mkw = model_kwargs(cfg.model.name or "", cfg.model.kwargs, manifest) if cfg.model.name else None
        if mkw is None:
            raise ConfigError("no model given: use --model NAME (see `hepgraph models`)")
        if ckpt is None:
            task.fit(fit_sample(train_ds, cfg.data.fit_events))
        cfg = cfg.replace(
            task=Component(task.name, task.hparams()),
            model=Component(cfg.model.name, mkw),
            data=dataclasses.replace(cfg.data, features=features.to_list()),
        )
        seed_everything(cfg.seed)
        model = build_model(cfg.model.name or "", mkw, in_channels=features.num_features, task=task)
        model.to(device)
        from hepgraph.store import make_loader

        bs, workers = cfg.train.batch_size, cfg.data.workers
        columns = loader_columns(task, model, manifest, cfg.data.columns)
        train_loader = make_loader(train_ds, bs, shuffle=True, features=features, num_workers=workers,
                                   seed=epoch_seed(cfg.seed, 0), rank=info.rank, columns=columns,
                                   world_size=info.world_size, pin_memory=device.type == "cuda")
        steps = len(train_loader)
        if cfg.train.max_steps_per_epoch:
            steps = min(steps, cfg.train.max_steps_per_epoch)
        if steps == 0:
            raise ConfigError("the training split holds no events; give more data or --val DIR")
        ebs = cfg.eval.batch_size or bs
        vsampler = ShardedSampler(len(val_ds), info.rank, info.world_size, shuffle=False, pad=False)
        val_loader = make_loader(val_ds, ebs, features=features, num_workers=workers, sampler=vsampler,
                                 columns=loader_columns(task, model, val_ds.manifest, cfg.data.columns),
                                 pin_memory=device.type == "cuda") if len(val_ds) else None

        def epoch_loader(epoch: int) -> Any:
            train_loader.sampler.set_epoch(epoch)
            return train_loader

        opt = _optimizer(cfg, model)
        sched = _schedule(cfg, opt, steps)
        meta = {"config": json.dumps(cfg.to_dict()), "features": json.dumps(features.to_list()),
                "manifest_hash": manifest_hash(manifest)}
        if info.is_main:
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            write_text_atomic(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
            if ckpt is None:
                write_text_atomic(out / "metrics.jsonl", "")
            handler = _attach_log(out / "train.log")
        trainer = Trainer(model, task, opt, sched, cfg, device, info, out if info.is_main else None,
                          meta, callback)
        if ckpt is not None:
            trainer.load_state_dict(ckpt)
            if info.is_main:
                _truncate_metrics(out / "metrics.jsonl", trainer.epoch)
            log.info("resumed %s at epoch %d (step %d)", out, trainer.epoch, trainer.step)
        log.info("model %s (%d parameters), task %s, %d training events, device %s, world %d",
                 cfg.model.name, sum(p.numel() for p in model.parameters()), task.name, len(train_ds),
                 device, info.world_size)
        trainer.fit(epoch_loader, steps, (lambda: val_loader) if val_loader is not None else None)
        return out
    finally:
        if handler is not None:
            logging.getLogger("hepgraph").removeHandler(handler)
            handler.close()
        shutdown()


def _truncate_metrics(path: Path, epochs_done: int) -> None:
    """Drop metric lines of epochs after the checkpoint (written before a kill)."""
    if not path.is_file():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["epoch"] <= epochs_done]
    write_text_atomic(path, "".join(ln + "\n" for ln in keep))


def resolve(config: str | Path | None, flags: Mapping[str, Any], overrides: list[str] | None) -> RunConfig:
    """YAML (``--config``: a path or a shipped experiment name) + CLI flags + ``--set``
    overrides -> validated :class:`RunConfig`.

    ``flags`` maps key paths (``train.epochs``) to values; None values are skipped. Task and
    model defaults come from ``configs/tasks/<task>.yaml`` and ``configs/models/<model>.yaml``
    when those files exist (the user's values win).
    """
    from hepgraph.config import configs_dir, deep_merge, find_config, load_config, load_yaml
    from hepgraph.config.load import apply_overrides

    base = load_config(find_config("experiments", config)) if config is not None else {}
    for key in ("model", "task"):
        if isinstance(base.get(key), str):
            base[key] = {"name": base[key]}
    set_flags = [f"{k}={json.dumps(v)}" for k, v in flags.items() if v is not None]
    merged = apply_overrides(base, set_flags)
    for section, folder in (("task", "tasks"), ("model", "models")):
        name = (merged.get(section) or {}).get("name")
        path = configs_dir() / folder / f"{name}.yaml"
        if name and path.is_file():
            default = load_yaml(path)
            block = default.get(section, default)
            if block.get("name", name) == name:
                merged[section] = deep_merge(block, merged.get(section) or {})
    merged = apply_overrides(merged, overrides)
    if math.isnan(float(merged.get("seed", 0) or 0)):
        raise ConfigError("seed must be a number")
    return validate(merged)
