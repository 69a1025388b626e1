"""Run configuration: YAML + CLI flags + ``--set`` overrides -> frozen dataclasses.

Sections (every component block is ``{name, **kwargs}``)::

    seed: 0
    data: {train: DIR, val: null, features: null, workers: 0}
    model: {name: gravnet, hidden_channels: 64}
    task: {name: regression, targets: [px, py, pz]}
    train: {epochs: 10, batch_size: 16, max_batch_hits: 250000, lr: 1.0e-3, optimizer: adamw,
            scheduler: cosine}
    eval: {batch_size: null}

Unknown keys raise :class:`~hepgraph.errors.ConfigError` naming the key path and the
closest valid key, e.g. ``train.lrr: unknown key (did you mean lr?)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hepgraph.errors import ConfigError, setting
from hepgraph.registry import unknown_key

AMP_MODES = ("bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
LOGGERS = ("none", "csv", "tensorboard")  # implemented in hepgraph.train.loggers


@dataclass(frozen=True)
class Component:
    """A registry block: ``name`` plus keyword arguments."""

    name: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, path: str) -> Component:
        """From ``"name"``, ``{name: ..., **kwargs}`` or ``None``."""
        if value is None:
            return cls(None)
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a name or a mapping with `name`, got `{value}`")
        kw = {k: v for k, v in value.items() if k != "name"}
        return cls(value.get("name"), kw)

    def to_dict(self) -> dict[str, Any]:
        """``{name, **kwargs}``."""
        return {"name": self.name, **self.kwargs}


@dataclass(frozen=True)
class DataConfig:
    """Where the events come from.

    Attributes:
        train: training dataset directory.
        val: validation dataset; None = the ``val`` split of ``train`` (then training
            uses its ``train`` split).
        features: feature spec ``[[column, centre, scale, clip], ...]`` (None = manifest default).
        workers: DataLoader worker processes.
        fit_events: training events read to fit task statistics (standardisation, classes).
        columns: extra dataset columns batches carry (``batch.hit``/``batch.event``) besides
            those the task, model and features declare; ``all`` = every column.
    """

    train: str | None = None
    val: str | None = None
    features: list[Any] | None = None
    workers: int = 0
    fit_events: int = 2000
    columns: list[str] | str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: number of epochs.
        batch_size: events per step (per process under DDP).
        max_batch_hits: most hits per batch (per process), for training, validation,
            ``evaluate`` and ``predict``: a batch closes at ``batch_size`` events or before
            the event that would take it over this many hits; an event with more hits is a
            batch alone (never dropped). Memory grows with hits, not events:
            ``sparse-resnet18`` takes ~18 KB per hit on CPU, so 250000 hits is ~4.5 GB.
            Batches of events below ``max_batch_hits / batch_size`` hits are unaffected;
            None = events only. See :class:`~hepgraph.store.batching.EpochBatchSampler`.
        lr: learning rate.
        weight_decay: L2 / decoupled weight decay.
        optimizer: ``adam`` | ``adamw`` | ``sgd`` block.
        scheduler: ``plateau`` | ``cosine`` | ``onecycle`` block, or None.
        grad_clip: max gradient L2 norm (None = off).
        early_stopping: patience in epochs without improvement of the headline metric (None = off).
        amp: ``bf16`` | ``fp16`` | None (CUDA autocast; fp16 uses a GradScaler).
        device: ``auto`` | ``cpu`` | ``cuda``.
        max_steps_per_epoch: cap on steps per epoch (quick runs; None = full epoch).
        log_every: steps between progress updates in train.log.
        find_unused_parameters: passed to DistributedDataParallel.
        logger: experiment tracking: ``none``, ``csv`` (``RUN/metrics.csv``) or
            ``tensorboard`` (``RUN/tensorboard/``); see :mod:`hepgraph.train.loggers`.
    """

    epochs: int = 10
    batch_size: int = 16
    max_batch_hits: int | None = 250_000
    lr: float = 1.0e-3
    weight_decay: float = 0.0
    optimizer: Component = Component("adamw")
    scheduler: Component = Component(None)
    grad_clip: float | None = None
    early_stopping: int | None = None
    amp: str | None = None
    device: str = "auto"
    max_steps_per_epoch: int | None = None
    log_every: int = 10
    find_unused_parameters: bool = False
    logger: str = "none"


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings (``batch_size`` None = the training batch size)."""

    batch_size: int | None = None


@dataclass(frozen=True)
class RunConfig:
    """A fully resolved run configuration."""

    seed: int = 0
    data: DataConfig = DataConfig()
    model: Component = Component(None)
    task: Component = Component(None)
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (the ``config.yaml`` of a run)."""
        return {
            "seed": self.seed,
            "data": dataclasses.asdict(self.data),
            "model": self.model.to_dict(),
            "task": self.task.to_dict(),
            "train": {
                **{f.name: getattr(self.train, f.name) for f in dataclasses.fields(TrainConfig)},
                "optimizer": self.train.optimizer.to_dict(),
                "scheduler": self.train.scheduler.to_dict() if self.train.scheduler.name else None,
            },
            "eval": dataclasses.asdict(self.eval),
        }

    def replace(self, **changes: Any) -> RunConfig:
        """Copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)


def _coerce(path: str, value: Any, typ: str) -> Any:
    """Check/coerce a scalar against a dataclass annotation string."""
    if value is None:
        if "None" in typ:
            return None
        raise ConfigError(f"{path}: must not be null")
    try:
        if typ.startswith("int"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                return value
            if float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if typ.startswith("float"):
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise ValueError
            return float(value)
        if typ.startswith("bool"):
            if not isinstance(value, bool):
                raise ValueError
            return value
        if typ.startswith("str"):
            return str(value)
    except (TypeError, ValueError, OverflowError):
        kind = "finite number" if typ.startswith("float") else typ.split(" ")[0]
        raise ConfigError(f"{path}: `{value}` is not a valid {kind}") from None
    return value


def _section(cls: type, raw: Any, path: str) -> Any:
    # A section given as null (`--set train=null`, or `train:` with nothing under it) would
    # otherwise read as {} and silently put back every default of the section.
    if not isinstance(raw, Mapping):
        example = next(f for f in dataclasses.fields(cls))
        got = "null" if raw is None else f"`{raw}`"
        raise ConfigError(
            f"`{path}` must be a mapping of settings, got {got}; set its keys one by one (for example "
            f"{setting(f'{path}.{example.name}', 'VALUE')}), or leave `{path}` out to keep its defaults"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise unknown_key(path, key, list(fields))
        typ = str(fields[key].type)
        if typ == "Component":
            out[key] = Component.parse(value, f"{path}.{key}")
        else:
            out[key] = _coerce(f"{path}.{key}", value, typ)
    return cls(**out)


def validate(raw: Mapping[str, Any]) -> RunConfig:
    """Validate a merged config dict into a :class:`RunConfig`.

    Raises:
        ConfigError: unknown key (path + closest key), wrong type or invalid value.
    """
    top = {f.name for f in dataclasses.fields(RunConfig)}
    for key in raw:
        if key not in top:
            raise unknown_key("", key, sorted(top))
    cfg = RunConfig(
        seed=_coerce("seed", raw.get("seed", 0), "int"),
        data=_section(DataConfig, raw.get("data", {}), "data"),
        model=Component.parse(raw.get("model"), "model"),
        task=Component.parse(raw.get("task"), "task"),
        train=_section(TrainConfig, raw.get("train", {}), "train"),
        eval=_section(EvalConfig, raw.get("eval", {}), "eval"),
    )
    if not 0 <= cfg.seed < 2**63:
        raise ConfigError(f"seed `{cfg.seed}` must be in [0, 2^63)")
    t = cfg.train
    if t.amp is not None and t.amp not in AMP_MODES:
        raise ConfigError(f"train.amp `{t.amp}` is not valid; use one of {', '.join(AMP_MODES)} or null")
    if t.device not in DEVICES:
        raise ConfigError(f"train.device `{t.device}` is not valid; use one of {', '.join(DEVICES)}")
    if t.logger not in LOGGERS:
        raise ConfigError(f"train.logger `{t.logger}` is not valid; use one of {', '.join(LOGGERS)}")
    for name, v in (("train.epochs", t.epochs), ("train.batch_size", t.batch_size)):
        if v < 1:
            raise ConfigError(f"{name} `{v}` must be >= 1")
    if t.max_batch_hits is not None and t.max_batch_hits < 1:
        raise ConfigError(f"{setting('train.max_batch_hits', t.max_batch_hits)} must be a positive number "
                          f"of hits: the most hits a batch may hold, e.g. {setting('train.max_batch_hits', 250000)}, "
                          "or null for batches of train.batch_size events whatever their hits")
    if t.lr <= 0:
        raise ConfigError(f"train.lr `{t.lr}` must be > 0")
    if cfg.data.workers < 0:
        raise ConfigError(f"data.workers `{cfg.data.workers}` must be >= 0")
    cols = cfg.data.columns
    if cols is not None and cols != "all" and not (isinstance(cols, list) and all(isinstance(c, str) for c in cols)):
        raise ConfigError(f"data.columns `{cols}` must be a list of column names or `all`")
    return cfg
