"""Running a trained model on one event for the learned clusterers (``gnn``, ``condensation``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError, setting

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
    """Named defaults of a built-in simulator (tuned on it); None for file sources, whose
    detectors vary (the TrackML *format* included): those get :func:`geometry_defaults`."""
    from hepgraph.cluster.density import DETECTOR_DEFAULTS
    from hepgraph.cluster.hough import HOUGH_DEFAULTS

    table = HOUGH_DEFAULTS if method == "hough" else DETECTOR_DEFAULTS
    src = ((manifest or {}).get("source") or {}).get("name")
    return src if src in table and str(src).startswith("sim-") else None


def geometry_defaults(method: str, manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """Classical-method defaults from the detector the dataset records (not from its name).

    Without a field (``extra.field_T`` 0): hough in straight-line parameters (φ, z0, cot θ)
    and dbscan/hdbscan on hit directions from vertices scanned along the luminous region;
    with one: the circle Hough with p_T >= 0.3 GeV and helix unrolling over the matching
    curvatures. The luminous region (``extra.luminous_region.sigma``, mm) sets the z0 range.
    An unknown field leaves the methods' own defaults.
    """
    extra = (manifest or {}).get("extra") or {}
    field = extra.get("field_T")
    if field is None:
        return {}
    field = float(field)
    sigma = (extra.get("luminous_region") or {}).get("sigma")
    z_half = 3.0 * float(sigma[2]) if sigma else 0.0
    if method == "hough":
        out: dict[str, Any] = {"field_T": field, "z0_max": z_half}
        if abs(field) < 1e-3:
            return {**out, "n_phi": 512, "theta_tol": 0.002, "n_z0": 64, "cot_tol": 0.05}
        return {**out, "pt_min": 0.3, "n_phi": 1024, "n_kappa": 64, "theta_tol": 0.005, "n_z0": 32,
                "cot_tol": 0.05}
    if method in ("dbscan", "hdbscan"):
        from hepgraph.cluster.hough import pt_curvature

        if abs(field) < 1e-3:
            z0 = [round(float(v), 3) for v in np.linspace(-z_half, z_half, 25)] if z_half else 0.0
            return {"space": "direction", "z0": z0, "eps": 0.005, "min_samples": 2, "max_hits": 40}
        kmax = pt_curvature(field, 0.3)
        return {"space": "helix", "curvature": [round(float(k), 9) for k in np.linspace(-kmax, kmax, 13)],
                "eps": 0.02, "min_samples": 2, "z_scale": 0.1, "max_hits": 30}
    return {}


def build_clusterer(
    method: str, options: Mapping[str, Any] | None = None, *, run: Any = None,
    manifest: Mapping[str, Any] | None = None, device: str = "cpu", events: Any = None,
) -> Any:
    """Build a registered clusterer with dataset-aware defaults and, if learned, its model.

    Defaults taken from the dataset manifest unless given in ``options`` (``hough`` on a
    dataset that records no field and is no built-in simulator needs ``field_T``): ``detector`` for
    ``dbscan``/``hdbscan``/``hough`` (a built-in simulator with tuned defaults, e.g.
    ``sim-drift-chamber``), else the detector the manifest records (field, luminous region;
    :func:`geometry_defaults`). For ``gnn`` with a run, the settings the run chose on its
    validation events (``RUN/cluster.yaml``) come first.

    Args:
        method: registered clusterer name.
        options: clusterer keyword arguments (``--set key=value``).
        run: training run directory (``gnn`` and ``condensation`` need one).
        manifest: the dataset manifest.
        device: torch device for learned models.
        events: the events to cluster (a sequence); ``dbscan`` in ``xyz`` without a detector's
            defaults or an ``eps`` takes its ``eps`` from their hit spacing
            (:func:`hepgraph.cluster.density.spacing_eps`).

    Raises:
        UnknownNameError: unknown method. ConfigError: a run given to / missing for a method,
        a run trained for another task, an unknown option.
    """
    from hepgraph.errors import ConfigError
    from hepgraph.registry import CLUSTERERS

    fn = CLUSTERERS.get(method)
    meta = CLUSTERERS.meta(method)
    opts = dict(options or {})
    if method in ("dbscan", "hdbscan", "hough") and "detector" not in opts:
        opts["detector"] = _detector_default(method, manifest)
        if opts["detector"] is None:
            opts = {**geometry_defaults(method, manifest), **opts}
        if method == "hough" and "field_T" not in opts and _field_default(manifest) is not None:
            opts["field_T"] = _field_default(manifest)
        if method == "hough" and "field_T" not in opts and "kappa_max" not in opts and opts["detector"] is None:
            raise ConfigError(
                "hough needs the magnetic field and this dataset records none (`extra.field_T`): give the "
                "option `field_T` (T; 0 for straight tracks) or the largest curvature `kappa_max` (1/mm)")
        if opts["detector"] is None:
            del opts["detector"]
            if (method == "dbscan" and events is not None and "eps" not in opts
                    and opts.get("space", "xyz") == "xyz"):
                from hepgraph.cluster.density import spacing_eps

                eps = spacing_eps(events, int(opts.get("min_samples", 3)))
                if eps is not None:
                    opts["eps"] = eps
    if meta.get("needs_model") and run is not None:
        opts = {**run_settings(run, method), **opts}
    if meta.get("needs_model"):
        want = meta.get("task")
        if run is None:
            raise ConfigError(
                f"method `{method}` needs a trained model: give {setting('run', 'RUN_DIR')} of a run trained with "
                f"{setting('task.name', want)}"
            )
        model, features, task = load_run(run, device=device)
        if task != want:
            raise ConfigError(
                f"run `{run}` was trained for task `{task}`, but method `{method}` needs a run "
                f"trained with {setting('task.name', want)}"
            )
        opts.update(model=model, features=features, device=device)
    elif run is not None:
        raise ConfigError(
            f"{setting('run')} is only for the learned methods (gnn, condensation); method `{method}` takes none"
        )
    try:
        return CLUSTERERS.build({"name": method, **opts}) if fn else None
    except (TypeError, ValueError) as err:  # a value of the wrong kind, e.g. eps=abc
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"method `{method}`: an option has a value of the wrong kind ({err}); "
                          "options are numbers or names, e.g. eps=25") from None


def run_settings(run: Any, method: str) -> dict[str, Any]:
    """Clusterer options a run chose on its validation events (``RUN/cluster.yaml``), if any.

    Only the options of ``method`` are taken; the options are checked when the clusterer is
    built (unknown keys are refused), and nothing in the file names code to run.
    """
    from pathlib import Path

    from hepgraph.cluster.calibrate import SETTINGS_FILE
    from hepgraph.cluster.tune import read_settings
    from hepgraph.registry import CLUSTERERS

    path = Path(run) / SETTINGS_FILE
    if not path.is_file():
        return {}
    chosen, options = read_settings(path)
    learned = [n for n in CLUSTERERS.names() if CLUSTERERS.meta(n).get("needs_model")]
    if chosen != method and chosen not in learned:  # hand-edited: its options would be silently dropped
        raise ConfigError(f"`{path}` holds settings of method `{chosen}`, but a run's settings are for "
                          f"{' or '.join(learned)}; rewrite it with `method: {method}` or delete it")
    return dict(options) if chosen == method else {}


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
            "give the output directory of a training run"
        )
    return _load_checkpoint_model(next(p for p in ckpts if p.is_file()), device)


def _load_checkpoint_model(path: Any, device: str) -> tuple[Any, Any, str]:
    """Model (eval mode), feature spec and task name from a checkpoint (``hepgraph.runs.load``)."""
    from hepgraph.runs.load import load_run

    loaded = load_run(path, device=device)
    return loaded.model, loaded.features, str(loaded.task.name)
