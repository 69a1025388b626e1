"""``hepgraph.train.run``: one training run from a resolved config to a run directory
(layout in :mod:`hepgraph.runs.layout`).

>>> from hepgraph.train import run, validate                                  # doctest: +SKIP
>>> run(validate({"data": {"train": "ds"}, "model": "mlp", "task": "regression"}), "runs/r1")
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml

from hepgraph.errors import ConfigError, setting
from hepgraph.registry import OPTIMIZERS, SCHEDULERS, check_kwargs
from hepgraph.runs.build import (
    build_model,
    build_task,
    fit_features,
    fit_sample,
    loader_columns,
    model_kwargs,
    resolve_features,
)
from hepgraph.runs.checkpoint import config_of, load_checkpoint, manifest_hash
from hepgraph.runs.config import Component, RunConfig, validate
from hepgraph.runs.layout import (
    clear_run_dir,
    is_empty_dir,
    is_run_dir,
    pick_device,
    run_dir_lock,
    write_text_atomic,
)
from hepgraph.train.distributed import DistInfo, ShardedSampler, init_distributed, shutdown
from hepgraph.train.loggers import CallbackList, make_logger
from hepgraph.train.optim import OPTIMIZER_INJECTED, SCHEDULER_INJECTED, Schedule
from hepgraph.train.trainer import Callback, Trainer, epoch_seed, seed_everything

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Setup:
    """What the setup stages of :func:`run` build, in order."""

    cfg: RunConfig
    train_ds: Any
    val_ds: Any
    task: Any
    features: Any
    model: torch.nn.Module


def _start(cfg: RunConfig | None, out: Path, resume: bool, epochs: int | None,
           overwrite: bool, data: str | Path | None = None) -> tuple[RunConfig, dict[str, Any] | None]:
    """Stage 1: the config to train (the stored one with ``resume``) and the checkpoint to
    resume from; refuses a non-empty ``out`` unless ``overwrite`` or ``resume``."""
    if resume:
        if not is_run_dir(out):
            raise ConfigError(f"`{out}` is not a hepgraph run directory (no config.yaml and "
                              "checkpoints/last.pt); give the output directory of an earlier training run")
        ckpt = load_checkpoint(out / "checkpoints" / "last.pt")
        cfg = validate(config_of(ckpt))
        cfg = cfg.replace(data=_resumed_data(cfg, ckpt, data))
        if epochs is not None:
            cfg = cfg.replace(train=dataclasses.replace(cfg.train, epochs=int(epochs)))
        return cfg, ckpt
    if cfg is None:
        raise ConfigError("no run config given")
    if not is_empty_dir(out) and not overwrite:
        raise ConfigError(f"run directory `{out}` exists and is not empty; use {setting('resume', out)} to "
                          f"continue it, {setting('overwrite', True)} to replace it, or another output directory")
    return cfg, None


def _resumed_data(cfg: RunConfig, ckpt: dict[str, Any], data: str | Path | None) -> Any:
    """The data section of a resumed run: the stored one, or ``data`` (the training dataset
    moved or copied) when its manifest is the one the run trained on."""
    from hepgraph.store.manifest import read_manifest

    if data is None:
        if cfg.data.train and not Path(cfg.data.train).exists():
            raise ConfigError(f"the run's training dataset `{cfg.data.train}` does not exist; if it moved, "
                              f"give its new place with {setting('data.train', 'DIR')}")
        return cfg.data
    if manifest_hash(read_manifest(data)) != ckpt.get("manifest_hash"):
        raise ConfigError(f"dataset `{data}` is not the one this run trained on (`{cfg.data.train}`: the manifests "
                          "differ); a resumed run continues on the same dataset, moved or copied")
    return dataclasses.replace(cfg.data, train=str(data))


def _prepare(cfg: RunConfig, resumed: bool, device: torch.device) -> Setup:
    """Stage 2: datasets, task (fitted on the training split unless resumed), features and
    model; the returned config holds what was built (task statistics, model defaults)."""
    if not cfg.data.train:
        raise ConfigError(f"no training data: set {setting('data.train', 'DIR')}")
    from hepgraph.store.dataset import EventDataset

    full = EventDataset(cfg.data.train)
    train_ds, val_ds = ((full, EventDataset(cfg.data.val)) if cfg.data.val
                        else (full.split("train"), full.split("val")))
    manifest = train_ds.manifest
    task = build_task(cfg.task, manifest)
    features = resolve_features(cfg.data.features, manifest)
    if not cfg.model.name:
        raise ConfigError(f"no model given: set {setting('model.name', 'NAME')} (see `hepgraph models`)")
    mkw = model_kwargs(cfg.model.name, cfg.model.kwargs, manifest)  # checked before the fit
    seed_everything(cfg.seed)
    if not resumed:  # the fit may set what the model needs (num_classes from the data)
        task.fit(fit_sample(train_ds, cfg.data.fit_events))
        features = fit_features(features, train_ds, cfg.data.fit_events)  # `auto` -> numbers
    seed_everything(cfg.seed)
    model = build_model(cfg.model.name, mkw, in_channels=features.num_features, task=task)
    if not resumed and hasattr(model, "prepare"):  # parts learned from the data (a graph builder)
        model.prepare(train_ds, val_ds)
    cfg = cfg.replace(task=Component(task.name, task.hparams()), model=Component(cfg.model.name, mkw),
                      data=dataclasses.replace(cfg.data, features=features.to_list()))
    return Setup(cfg, train_ds, val_ds, task, features, model.to(device))


def _loaders(s: Setup, info: DistInfo, device: torch.device) -> tuple[Any, int, Any]:
    """Stage 3: the training loader, its steps per epoch, and the validation loader (or None)."""
    from hepgraph.store import make_loader

    cfg, bs, workers = s.cfg, s.cfg.train.batch_size, s.cfg.data.workers
    pin = device.type == "cuda"
    train_loader = make_loader(s.train_ds, bs, shuffle=True, features=s.features, num_workers=workers,
                               seed=epoch_seed(cfg.seed, 0), rank=info.rank, world_size=info.world_size,
                               columns=loader_columns(s.task, s.model, s.train_ds.manifest, cfg.data.columns),
                               pin_memory=pin, max_hits=cfg.train.max_batch_hits)
    # With a hit budget (or worker streams) the batch count changes with the shuffle: size
    # the epoch (and the lr schedule) by the largest, so no epoch is cut and no schedule overruns.
    batches = train_loader.sampler
    steps = batches.max_len(range(cfg.train.epochs)) if hasattr(batches, "max_len") else len(train_loader)
    if cfg.train.max_steps_per_epoch:
        steps = min(steps, cfg.train.max_steps_per_epoch)
    if steps == 0:
        raise ConfigError(f"the training split holds no events; give more data or {setting('data.val', 'DIR')}")
    if not len(s.val_ds):
        return train_loader, steps, None
    vsampler = ShardedSampler(len(s.val_ds), info.rank, info.world_size, shuffle=False, pad=False)
    val_loader = make_loader(s.val_ds, cfg.eval.batch_size or bs, features=s.features, num_workers=workers,
                             sampler=vsampler, pin_memory=pin, max_hits=cfg.train.max_batch_hits,
                             columns=loader_columns(s.task, s.model, s.val_ds.manifest, cfg.data.columns))
    return train_loader, steps, val_loader


def _optimizer(cfg: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    block = cfg.train.optimizer
    fn = OPTIMIZERS.get(block.name or "adamw")
    check_kwargs(fn, block.kwargs, where="train.optimizer", injected=OPTIMIZER_INJECTED)
    return fn(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, **block.kwargs)


def _schedule(cfg: RunConfig, opt: torch.optim.Optimizer, steps: int) -> Schedule | None:
    block = cfg.train.scheduler
    if not block.name:
        return None
    fn = SCHEDULERS.get(block.name)
    check_kwargs(fn, block.kwargs, where="train.scheduler", injected=SCHEDULER_INJECTED)
    return fn(opt, epochs=cfg.train.epochs, steps_per_epoch=steps, **block.kwargs)


def _write_run_dir(out: Path, cfg: RunConfig, resumed: bool) -> logging.Handler:
    """Stage 4 (main process): config.yaml, an empty metrics.jsonl, and the log file."""
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if not resumed:
        write_text_atomic(out / "metrics.jsonl", "")
    from hepgraph.runs.provenance import record_provenance

    record_provenance(out)  # command line, package versions, git commit, machine (per session)
    h = logging.FileHandler(out / "train.log")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("hepgraph")
    root.addHandler(h)
    root.setLevel(logging.INFO)
    return h


def run(cfg: RunConfig | None, out: str | Path, *, resume: bool = False, epochs: int | None = None,
        overwrite: bool = False, callback: Callback | None = None, logger: str | None = None,
        data: str | Path | None = None) -> Path:
    """Train and write the run directory.

    Args:
        cfg: the validated config (ignored with ``resume``: the config stored in ``last.pt``
            is used).
        out: the run directory (locked while training: a second training into it fails).
        resume: continue from ``out/checkpoints/last.pt``.
        epochs: with ``resume``, a new total number of epochs (None = as stored).
        overwrite: replace a non-empty ``out`` (the old run is removed whole, never mixed).
        callback: progress hooks (rank 0).
        logger: with ``resume``, another ``train.logger`` (None = as stored).
        data: with ``resume``, the new place of the training dataset (moved or copied: its
            manifest must be the one the run trained on).

    Returns:
        The run directory.

    Raises:
        ConfigError / DataError / UnknownNameError: bad config, names or data.
    """
    out = Path(out)
    cfg, ckpt = _start(cfg, out, resume, epochs, overwrite, data)
    if resume and logger is not None:
        cfg = cfg.replace(train=dataclasses.replace(cfg.train, logger=logger))  # make_logger checks it
    info = init_distributed("cuda" if cfg.train.device != "cpu" and torch.cuda.is_available() else "cpu")
    device = pick_device(cfg.train.device, info.local_rank)
    handler = None
    with contextlib.ExitStack() as stack:
        try:
            s = _prepare(cfg, ckpt is not None, device)
            logger = make_logger(s.cfg.train.logger, out) if info.is_main else None  # checked before training
            train_loader, steps, val_loader = _loaders(s, info, device)
            opt = _optimizer(s.cfg, s.model)
            sched = _schedule(s.cfg, opt, steps)
            meta = {"config": json.dumps(s.cfg.to_dict()), "features": json.dumps(s.features.to_list()),
                    "manifest_hash": manifest_hash(s.train_ds.manifest)}
            if info.is_main:  # everything checked: only now is an old run replaced
                if not resume and not is_empty_dir(out):
                    clear_run_dir(out)
                stack.enter_context(run_dir_lock(out))
                handler = _write_run_dir(out, s.cfg, ckpt is not None)
            if logger is not None:
                callback = CallbackList([callback, logger])
            trainer = Trainer(s.model, s.task, opt, sched, s.cfg, device, info,
                              out if info.is_main else None, meta, callback)
            if ckpt is not None:
                trainer.load_state_dict(ckpt)
                if info.is_main:
                    _truncate_metrics(out / "metrics.jsonl", trainer.epoch)
                log.info("resumed %s at epoch %d (step %d)", out, trainer.epoch, trainer.step)
            log.info("model %s (%d parameters), task %s, %d training events, device %s, world %d",
                     s.cfg.model.name, sum(p.numel() for p in s.model.parameters()), s.task.name,
                     len(s.train_ds), device, info.world_size)

            def epoch_loader(epoch: int) -> Any:
                train_loader.sampler.set_epoch(epoch)
                return train_loader

            trainer.fit(epoch_loader, steps, (lambda: val_loader) if val_loader is not None else None)
            if info.is_main and hasattr(s.task, "after_training"):  # e.g. choose track building on val
                s.task.after_training(out, s.val_ds)
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


def _swap_model(base: dict[str, Any], name: str) -> None:
    """``--model NAME`` over a config whose model block names another model: the block's
    settings belonged to that model, so only ``extent`` (a detector property, when NAME
    takes it) is kept; ``--set model.key=value`` still applies afterwards."""
    block = base.get("model")
    if not isinstance(block, dict) or block.get("name") in (None, name):
        return
    kept: dict[str, Any] = {}
    if "extent" in block:
        import inspect

        import hepgraph.models  # noqa: F401  (fills MODELS)
        from hepgraph.errors import HepgraphError
        from hepgraph.models.factory import model_info

        try:
            cls = model_info(name).get("cls")
        except HepgraphError:  # an unknown name is reported by validation, with the valid names
            cls = None
        if cls is not None and "extent" in inspect.signature(cls).parameters:
            kept["extent"] = block["extent"]
    dropped = sorted(k for k in block if k not in ("name", *kept))
    log.info("--model %s replaces the config's model %s%s", name, block.get("name"),
             f" and its settings ({', '.join(dropped)})" if dropped else "")
    base["model"] = {"name": name, **kept}


def resolve(config: str | Path | None, flags: Mapping[str, Any], overrides: list[str] | None) -> RunConfig:
    """YAML (``--config``: a path or a shipped experiment name) + CLI flags + ``--set``
    overrides -> validated :class:`RunConfig`.

    ``flags`` maps key paths (``train.epochs``) to values; None values are skipped. Model and
    task defaults are not read from YAML: they live in the registered callables
    (:func:`hepgraph.models.create_model` applies a variant's defaults).
    """
    from hepgraph.config import apply_overrides, find_config, load_config

    base = load_config(find_config("experiments", config)) if config is not None else {}
    for key in ("model", "task"):
        if isinstance(base.get(key), str):
            base[key] = {"name": base[key]}
    if flags.get("model.name"):
        _swap_model(base, str(flags["model.name"]))
    set_flags = [f"{k}={json.dumps(v)}" for k, v in flags.items() if v is not None]
    return validate(apply_overrides(apply_overrides(base, set_flags), overrides))
