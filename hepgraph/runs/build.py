"""Build the pieces of a run from a config and a dataset manifest: task, features, model.

Used by training (from the user's config) and by evaluate/predict/export (from the
resolved config stored in a checkpoint, so a model is rebuilt from the checkpoint alone).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
from torch import nn

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.features import FITTED_CHARGE, FITTED_POSITIONS, FeatureSpec
from hepgraph.events.schema import kind_of
from hepgraph.registry import TASKS, check_kwargs
from hepgraph.runs.config import Component
from hepgraph.tasks.base import Task, manifest_columns


def build_task(block: Component, manifest: Mapping[str, Any] | None) -> Task:
    """Build and check the task; the name defaults to the manifest's ``default_task``.

    Raises:
        UnknownNameError: unknown task (lists the valid ones).
        ConfigError: unknown task keyword.
        DataError: the dataset has no labels for the task.
    """
    import hepgraph.tasks  # noqa: F401  (fills TASKS)

    name = block.name or (manifest or {}).get("default_task")
    if not name:
        raise ConfigError(f"no task given ({setting('task.name')}) and the dataset has no default task; choose one of "
                          f"{', '.join(TASKS.names())}")
    cls = TASKS.get(name)
    check_kwargs(cls, block.kwargs, where="task")
    task = cls(**{k: v for k, v in block.kwargs.items() if v is not None})
    if manifest is not None:
        task.check(manifest)
    return task


def resolve_features(features: Any, manifest: Mapping[str, Any]) -> FeatureSpec:
    """The feature spec: the config's, else the manifest's default, else ``charge`` with an
    ``auto`` centre and scale (:func:`fit_features` sets them from the training hits), else
    (no charge column) ``x, y, z`` the same way.

    Raises:
        DataError: a feature column is not in the dataset.
    """
    cols = manifest_columns(manifest)
    spec_raw = features or manifest.get("default_features") or (
        FITTED_CHARGE if "charge" in cols or not cols else FITTED_POSITIONS)
    spec = FeatureSpec.parse(spec_raw)
    if cols:
        missing = [n for n in spec.names if n not in cols]
        if missing:
            raise DataError(f"feature column(s) {', '.join(f'`{m}`' for m in missing)} not in the "
                            f"dataset (have: {', '.join(sorted(cols))}); change data.features")
    return spec


def fit_features(spec: FeatureSpec, dataset: Any, max_events: int, max_hits: int = 1_000_000) -> FeatureSpec:
    """``spec.fitted`` on the hits of up to ``max_events`` evenly spaced events (at most about
    ``max_hits`` hits): ``auto`` centres and scales become numbers, and an unshifted column that
    float32 cannot resolve (absolute times) is refused (:meth:`FeatureSpec.fitted`)."""
    n = len(dataset)
    if n == 0:
        raise DataError("the training split holds no events; build a larger dataset or give one with "
                        f"events as {setting('data.train', 'DIR')}")
    if hasattr(dataset, "select"):
        dataset = dataset.select(list(dict.fromkeys(spec.names)))
    cols: dict[str, list[np.ndarray]] = {c: [] for c in spec.names}
    hits = 0
    for i in np.unique(np.linspace(0, n - 1, min(n, max_events)).astype(np.int64)):
        ev = dataset[int(i)]
        for c in cols:
            if c in ev:
                cols[c].append(np.asarray(ev[c]))
        hits += len(np.asarray(ev[spec.names[0]])) if spec.names[0] in ev else 0
        if hits >= max_hits:
            break
    return spec.fitted({c: np.concatenate(v) for c, v in cols.items() if v})


def _accepts(fn: Any, key: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return key in params


def model_kwargs(name: str, kwargs: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """The model's keyword arguments as built: its registered defaults under the user's values
    (checked), plus ``extent`` (mm, :func:`dataset_extent`) and ``voxel_size`` (mm,
    :func:`dataset_voxel_size`) when the model takes them and the user gave none (they replace
    a variant's registered default).

    Raises:
        UnknownNameError: the model is not registered (lists the valid names).
        ConfigError: ``model.<key>: unknown key (did you mean ...?)``.
    """
    import hepgraph.models  # noqa: F401  (fills MODELS)
    from hepgraph.models.factory import model_info, variant_kwargs

    out = variant_kwargs(name, kwargs)
    # "gave none" means the user: a variant's registered default (sparse-unet's 3 mm voxels) is
    # in mm for the built-in detectors and must not beat what the data say (a detector in metres
    # would be a handful of voxels)
    given = {k for k, v in kwargs.items() if v is not None}
    extent = dataset_extent(manifest)
    cls = model_info(name).get("cls")
    if extent is not None and "extent" not in given and _accepts(cls, "extent"):
        out["extent"] = [[float(a), float(b)] for a, b in extent]
    voxel = dataset_voxel_size(manifest)
    if voxel is not None and "voxel_size" not in given and _accepts(cls, "voxel_size"):
        out["voxel_size"] = voxel
    return out


#: Voxels along the longest edge of the extent when the dataset records no voxel size.
VOXELS_PER_EDGE = 1024


def dataset_voxel_size(manifest: Mapping[str, Any] | None) -> float | list[float] | None:
    """The voxel edge (mm) of sparse models: the one the source recorded (``extra.voxel_size``,
    e.g. a voxelised LArTPC), else the longest edge of :func:`dataset_extent` over
    :data:`VOXELS_PER_EDGE` (3 significant digits: 0.122 mm for a 125 mm telescope, 48.8 mm
    for a 50 m neutrino detector), else None (the model's own default)."""
    recorded = ((manifest or {}).get("extra") or {}).get("voxel_size")
    if recorded is not None:
        return recorded
    extent = dataset_extent(manifest)
    if extent is None:
        return None
    edge = max(float(hi) - float(lo) for lo, hi in extent)
    return float(f"{edge / VOXELS_PER_EDGE:.3g}") if edge > 0 and np.isfinite(edge) else None


def dataset_extent(manifest: Mapping[str, Any] | None) -> list[list[float]] | None:
    """The (3, 2) box in mm that images and voxel grids cover: the detector extent the source
    recorded (``extra.extent``), else the range of the dataset's own hits (``stats.hit_extent``,
    measured when it was built), else None (the models' 2 m default cube)."""
    m = manifest or {}
    return (m.get("extra") or {}).get("extent") or (m.get("stats") or {}).get("hit_extent")


def build_model(name: str, kwargs: Mapping[str, Any], *, in_channels: int, task: Task) -> nn.Module:
    """``create_model(name, in_channels, task.level, task.out_channels, **kwargs)``."""
    from hepgraph.models import create_model

    return create_model(name, in_channels=in_channels, level=task.level,
                        out_channels=task.out_channels, **kwargs)


def fit_sample(dataset: Any, max_events: int) -> dict[str, np.ndarray]:
    """Event columns (and semantic class counts) of up to ``max_events`` evenly spaced events."""
    n = len(dataset)
    if n == 0:
        raise DataError("the training split holds no events; build a larger dataset or give one with "
                        f"events as {setting('data.train', 'DIR')}")
    idx = np.unique(np.linspace(0, n - 1, min(n, max_events)).astype(np.int64))
    if hasattr(dataset, "select"):  # read event columns (+ semantic) only, not every hit column
        have = list(dataset.manifest["columns"])
        dataset = dataset.select([c for c in have if kind_of(c) == "event" or c == "semantic"])
    cols: dict[str, list[Any]] = {}
    sem = None
    for i in idx:
        ev = dataset[int(i)]
        for k, v in ev.items():
            if np.ndim(v) == 0:
                cols.setdefault(k, []).append(v)
        if "semantic" in ev:
            s = np.asarray(ev["semantic"]).astype(np.int64)
            s = s[s >= 0]
            c = np.bincount(s) if s.size else np.zeros(1, np.int64)
            sem = c if sem is None else np.pad(sem, (0, max(0, len(c) - len(sem)))) + np.pad(
                c, (0, max(0, len(sem) - len(c))))
    out = {k: np.asarray(v) for k, v in cols.items()}
    if sem is not None:
        out["semantic_counts"] = sem
    return out


def loader_columns(task: Task, model: nn.Module, manifest: Mapping[str, Any],
                   extra: list[str] | str | None = None) -> list[str] | None:
    """The dataset columns loader batches must carry: the task's (``Task.columns``), the
    model's (``data_columns`` of any submodule) and ``extra`` (``data.columns``), in manifest
    order; None (= every column) when ``extra`` is ``all``. Declared columns the dataset lacks
    are skipped (an optional ``hit_id``; missing labels are the task's ``check``).

    Raises:
        ConfigError: an ``extra`` column is not in the dataset.
    """
    if extra == "all":
        return None
    have = list((manifest or {}).get("columns") or {})
    bad = [c for c in extra or () if c not in have]
    if bad:
        raise ConfigError(f"data.columns: `{bad[0]}` is not a column of the dataset (have: {', '.join(have)})")
    want = {*task.columns, *(extra or ())}
    for m in model.modules():
        want.update(getattr(m, "data_columns", ()))
    return [c for c in have if c in want]
