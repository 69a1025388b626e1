"""Rebuild a trained model and its task from a checkpoint alone (evaluate, predict, export)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hepgraph.errors import ConfigError
from hepgraph.events.features import FeatureSpec
from hepgraph.events.hitbatch import HitBatch
from hepgraph.runs.build import build_model, build_task, loader_columns
from hepgraph.runs.checkpoint import config_of, features_of, load_checkpoint
from hepgraph.runs.config import RunConfig, validate
from hepgraph.tasks.base import Task


@dataclass
class LoadedRun:
    """A model rebuilt from a checkpoint, in eval mode."""

    model: nn.Module
    task: Task
    config: RunConfig
    features: FeatureSpec
    checkpoint: dict[str, Any]
    path: Path


def checkpoint_path(run: str | Path) -> Path:
    """``RUN/checkpoints/best.pt`` (else ``last.pt``) for a run directory; a ``.pt`` file as is.

    Raises:
        ConfigError: the path is neither a run directory nor a checkpoint file.
    """
    p = Path(run)
    if p.is_file():
        return p
    for name in ("best.pt", "last.pt"):
        if (p / "checkpoints" / name).is_file():
            return p / "checkpoints" / name
    raise ConfigError(f"`{p}` is not a hepgraph run directory (no checkpoints/best.pt or last.pt) "
                      "nor a checkpoint file; give the output directory of a training run")


def load_run(run: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild model + task from the checkpoint's resolved config, feature spec and weights.

    Raises:
        ConfigError: not a run directory.
        DataError: corrupt checkpoint.
    """
    path = checkpoint_path(run)
    ckpt = load_checkpoint(path)
    cfg = validate(config_of(ckpt))
    task = build_task(cfg.task, None)
    task.load_state_dict(ckpt["task"])
    features = FeatureSpec.parse(features_of(ckpt))
    model = build_model(cfg.model.name or "", cfg.model.kwargs, in_channels=features.num_features, task=task)
    model.load_state_dict(ckpt["model"])
    dev = torch.device(device)
    model.to(dev).eval()
    task.to(dev).eval()
    return LoadedRun(model, task, cfg, features, ckpt, path)


#: ``--split`` choices of evaluate, predict and cluster (``all`` = every event).
SPLITS = ("train", "val", "test", "all")


def default_split(loaded: LoadedRun, data: str | Path) -> str:
    """``test`` when ``data`` is the dataset the run was trained on (its other events were
    seen in training), else ``all`` (a separate dataset is scored whole)."""
    from hepgraph.runs.checkpoint import manifest_hash
    from hepgraph.store.manifest import read_manifest

    same = loaded.checkpoint.get("manifest_hash") == manifest_hash(read_manifest(data))
    return "test" if same else "all"


def open_eval_data(data: str | Path, split: str | None = None, max_events: int | None = None) -> Any:
    """The dataset to evaluate/predict on: one split (``None``/``all`` = every event), at
    most ``max_events`` events.

    Raises:
        ConfigError: an unknown split name.
    """
    from hepgraph.store.dataset import EventDataset

    if split is not None and split not in SPLITS:
        raise ConfigError(f"split `{split}` is not one of {', '.join(SPLITS)}")
    ds = EventDataset(data)
    if split not in (None, "all"):
        ds = ds.split(split)
    if max_events is not None and max_events < len(ds):
        ds = ds.subset(np.arange(max_events))
    return ds


def iterate(loaded: LoadedRun, dataset: Any, batch_size: int, workers: int = 0,
            device: str | torch.device = "cpu") -> Iterator[tuple[HitBatch, dict[str, torch.Tensor]]]:
    """Yield ``(batch, model outputs)`` over a dataset in storage order, without gradients."""
    from hepgraph.store import EventDataset, make_loader

    manifest = getattr(dataset, "manifest", None)
    columns = None if manifest is None else loader_columns(loaded.task, loaded.model, manifest,
                                                           loaded.config.data.columns)
    loader = make_loader(dataset, batch_size, features=loaded.features, num_workers=workers, columns=columns,
                         max_hits=loaded.config.train.max_batch_hits if isinstance(dataset, EventDataset) else None)
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(device)
            yield batch, loaded.model(batch)
