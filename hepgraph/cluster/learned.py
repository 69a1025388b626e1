"""Running a trained model on one event for the learned clusterers (``gnn``, ``condensation``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import DataError

__all__ = ["run_model"]


def run_model(model: Any, event: Mapping[str, Any], features: Any = None, device: str = "cpu") -> dict[str, np.ndarray]:
    """Collate ``event`` into a one-event ``HitBatch``, run ``model`` and return numpy outputs.

    Args:
        model: a hepgraph model (``model(batch) -> {"out": ..., ["edge_index": ...]}``).
        event: the event dict.
        features: the feature spec the model was trained with.
        device: torch device.

    Returns:
        ``{"out": array}`` plus ``edge_index`` (2, E), ``triplets`` (2, T) and
        ``triplet_out`` (T,) when the model returned them.
    """
    import torch

    from hepgraph.events.hitbatch import collate_events

    ev = {k: v for k, v in event.items() if k not in ("edge_index", "embedding")}
    ev.setdefault("event_id", 0)
    batch = collate_events([ev], features).to(device)
    model.eval()
    with torch.no_grad():
        out = model(batch)
    if not isinstance(out, Mapping) or "out" not in out:
        raise DataError("the model did not return a dict with key `out`; it is not a hepgraph model")
    res = {"out": out["out"].detach().float().cpu().numpy()}
    for key in ("edge_index", "triplets", "triplet_out"):
        if out.get(key) is not None:
            res[key] = out[key].detach().cpu().numpy()
    return res


def _field_default(manifest: Mapping[str, Any] | None) -> float | None:
    extra = (manifest or {}).get("extra") or {}
    f = extra.get("field_T")
    return float(f) if f is not None else None


def _detector_default(method: str, manifest: Mapping[str, Any] | None) -> str | None:
    from hepgraph.cluster.density import DETECTOR_DEFAULTS
    from hepgraph.cluster.hough import HOUGH_DEFAULTS

    table = HOUGH_DEFAULTS if method == "hough" else DETECTOR_DEFAULTS
    src = ((manifest or {}).get("source") or {}).get("name")
    return src if src in table else None


def build_clusterer(
    method: str, options: Mapping[str, Any] | None = None, *, run: Any = None,
    manifest: Mapping[str, Any] | None = None, device: str = "cpu",
) -> Any:
    """Build a registered clusterer with dataset-aware defaults and, if learned, its model.

    Defaults taken from the dataset manifest unless given in ``options``: ``field_T`` for
    ``hough`` (``extra.field_T``), ``detector`` for ``dbscan``/``hdbscan``/``hough`` (the source name
    when it has defaults, e.g. ``trackml``, ``sim-drift-chamber``).

    Args:
        method: registered clusterer name.
        options: clusterer keyword arguments (``--set key=value``).
        run: training run directory (``gnn`` and ``condensation`` need one).
        manifest: the dataset manifest.
        device: torch device for learned models.

    Raises:
        UnknownNameError: unknown method. ConfigError: a run given to / missing for a method,
        a run trained for another task, an unknown option.
    """
    from hepgraph.errors import ConfigError
    from hepgraph.registry import CLUSTERERS

    fn = CLUSTERERS.get(method)
    meta = CLUSTERERS.meta(method)
    opts = dict(options or {})
    if method == "hough" and "field_T" not in opts and _field_default(manifest) is not None:
        opts["field_T"] = _field_default(manifest)
    if method in ("dbscan", "hdbscan", "hough") and "detector" not in opts:
        opts["detector"] = _detector_default(method, manifest)
    if meta.get("needs_model"):
        want = meta.get("task")
        if run is None:
            raise ConfigError(
                f"method `{method}` needs a trained model: give --run RUN_DIR of a run trained with "
                f"--task {want} (hepgraph train ... --task {want})"
            )
        model, features, task = load_run(run, device=device)
        if task != want:
            raise ConfigError(
                f"run `{run}` was trained for task `{task}`, but method `{method}` needs a run "
                f"trained with --task {want}"
            )
        opts.update(model=model, features=features, device=device)
    elif run is not None:
        raise ConfigError(
            f"--run is only for the learned methods (gnn, condensation); method `{method}` takes none"
        )
    return CLUSTERERS.build({"name": method, **opts}) if fn else None


def load_run(run: Any, device: str = "cpu") -> tuple[Any, Any, str]:
    """Rebuild a trained model from a training run directory.

    Returns:
        ``(model, feature spec, task name)``.

    Raises:
        DataError: not a run directory, or no loadable checkpoint.
    """
    from pathlib import Path

    from hepgraph.errors import DataError

    path = Path(run)
    ckpts = [path / "checkpoints" / n for n in ("best.pt", "last.pt")]
    if not path.is_dir() or not any(p.is_file() for p in ckpts):
        raise DataError(
            f"`{run}` is not a training run directory (no checkpoints/best.pt or last.pt); "
            "give the --out directory of `hepgraph train`"
        )
    return _load_checkpoint_model(next(p for p in ckpts if p.is_file()), device)


def _load_checkpoint_model(path: Any, device: str) -> tuple[Any, Any, str]:
    """Model (eval mode), feature spec and task name from a checkpoint (``hepgraph.runs.load``)."""
    from hepgraph.runs.load import load_run

    loaded = load_run(path, device=device)
    return loaded.model, loaded.features, str(loaded.task.name)
