"""The few functions a Python user starts from: train, evaluate and cluster, with the same
behaviour as the ``hepgraph`` commands (which call the same library code).

>>> import hepgraph
>>> run = hepgraph.train("data/lartpc", "runs/pid", model="sparse-resnet18", epochs=5)  # doctest: +SKIP
>>> hepgraph.evaluate(run, "data/lartpc", "runs/pid/eval")["accuracy"]                 # doctest: +SKIP
>>> hepgraph.cluster("data/dc", method="dbscan").metrics["efficiency"]                 # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def train(data: str | Path, out: str | Path, *, model: str | None = None, task: str | None = None,
          config: str | Path | None = None, epochs: int | None = None, batch_size: int | None = None,
          lr: float | None = None, device: str | None = None, seed: int | None = None,
          overrides: Sequence[str] = (), overwrite: bool = False) -> Path:
    """Train a model on a dataset and write a run directory (``hepgraph train``).

    Args:
        data: dataset directory (its train/val splits are used).
        out: run directory to create (``config.yaml``, ``metrics.jsonl``, ``checkpoints/``).
        model: registered model name (:func:`hepgraph.list_models`).
        task: task name (default: the dataset's default task).
        config: an experiment YAML (path or shipped name, e.g. ``lartpc_pid_sparse``).
        epochs, batch_size, lr, device, seed: the usual settings (None = the config's).
        overrides: ``key.path=value`` strings, as ``--set`` (e.g. ``"model.k=8"``).
        overwrite: replace an existing, non-empty ``out``.

    Returns:
        The run directory.

    Raises:
        ConfigError / DataError / UnknownNameError: bad settings, names or data.
    """
    from hepgraph.train import resolve, run

    flags = {"data.train": str(data), "model.name": model, "task.name": task, "train.epochs": epochs,
             "train.batch_size": batch_size, "train.lr": lr, "train.device": device, "seed": seed}
    cfg = resolve(config, flags, list(overrides))
    return run(cfg, out, overwrite=overwrite)


def evaluate(run: str | Path, data: str | Path, out: str | Path, *, split: str | None = None,
             device: str = "cpu", overwrite: bool = False) -> dict[str, Any]:
    """Metrics and plots of a trained run on a labelled dataset (``hepgraph evaluate``).

    Args:
        run: run directory (its best checkpoint) or a checkpoint file.
        data: dataset directory.
        out: report directory (``metrics.json`` and PNG plots).
        split: ``train``, ``val``, ``test`` or ``all``; None = ``test`` when ``data`` is the
            run's training dataset, else ``all``.
        device: ``cpu`` or ``cuda``.
        overwrite: replace an existing report.

    Returns:
        The metrics, with ``split`` and ``events``.
    """
    from hepgraph.runs.evaluate import evaluate as run_eval

    return run_eval(run, data, out, split=split, device=device, overwrite=overwrite)


def cluster(data: str | Path, method: str = "dbscan", *, run: str | Path | None = None,
            split: str = "test", options: Mapping[str, Any] | None = None,
            max_events: int | None = None) -> Any:
    """Cluster the hits of a dataset into track candidates (``hepgraph cluster``).

    Args:
        data: dataset directory.
        method: registered clusterer (``dbscan``, ``hdbscan``, ``hough``, ``gnn``, ...).
        run: a training run, for the learned methods.
        split: ``train``, ``val``, ``test`` or ``all`` events.
        options: the method's keyword arguments (``eps``, ``threshold``, ...).
        max_events: cluster at most this many events.

    Returns:
        A :class:`hepgraph.cluster.run.ClusterResult`: per-hit ``event_id``, ``hit_id``,
        ``track_id`` and, with truth in the dataset, ``metrics`` (efficiency, fake rate, ...).
    """
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.cluster.run import cluster_dataset
    from hepgraph.runs.load import open_eval_data

    ds = open_eval_data(data, split)
    clusterer = build_clusterer(method, dict(options or {}), run=run, manifest=ds.manifest, events=ds)
    return cluster_dataset(ds, clusterer, max_events=max_events)


def describe(obj: Any) -> str:
    """A one-screen JSON summary of a dataset directory (as ``hepgraph info --json``)."""
    from hepgraph.store.info import dataset_info

    return json.dumps(dataset_info(obj), indent=2)


def callable_package(package: str, name: str) -> None:
    """Make the subpackage ``package`` callable as :func:`name` of this module.

    ``hepgraph.train`` and ``hepgraph.cluster`` are subpackages *and* the functions users
    call (``hepgraph.train(data, out, model=...)``); Python binds the subpackage to the
    attribute as soon as anything imports it, so the subpackage itself forwards calls.
    """
    fn = globals()[name]

    class CallablePackage(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

    mod = sys.modules[package]
    mod.__class__ = CallablePackage
    mod.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
