"""Choosing a clusterer's settings on validation events, scored with the tracking metrics.

``hepgraph cluster --tune`` and the end of a tracking-GNN training (:mod:`.calibrate`) both
search a grid of clusterer options (or, when it is larger than ``trials``, a seeded random
sample of it followed by hill climbing from the best), cluster the validation events with
each, and keep the options with the highest ``efficiency - fake_rate`` (ties: the TrackML
score). The result is a small
YAML file that ``hepgraph cluster --config FILE`` reads::

    method: hough
    options: {n_phi: 1024, pt_min: 0.3, ...}
    validation: {events: 60, split: val, efficiency: 0.97, fake_rate: 0.02, trackml_score: 0.95}

The search spaces of the classical methods (:func:`default_space`) follow the detector
the dataset records (field, luminous region; :mod:`hepgraph.events.geometry`):
straight-line parameters without a field, curvature ranges with one. What the dataset does
not record is measured on the validation truth: the curvature range without a field, and
whether straight tracks come from the beam line (else dbscan's ``slope`` space).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError

#: Top-level keys of a settings file (:func:`write_settings`).
SETTINGS_KEYS = ("method", "options", "validation", "chosen_on", "graph")

__all__ = ["score", "search", "default_space", "STRAIGHT_KAPPA", "write_settings", "read_settings", "objective"]


def objective(metrics: Mapping[str, float]) -> tuple[float, float]:
    """Sort key of a result: (efficiency - fake rate, TrackML score); NaN counts as worst."""
    eff, fake = metrics.get("efficiency", float("nan")), metrics.get("fake_rate", float("nan"))
    main = eff - (fake if math.isfinite(fake) else 1.0)
    return (main if math.isfinite(main) else -2.0, float(metrics.get("trackml_score", 0.0)))


def score(events: Sequence[Mapping[str, Any]], clusterer: Any, *, inputs: Sequence[Mapping[str, Any]] | None = None,
          min_hits: int = 3) -> dict[str, float]:
    """Tracking metrics of ``clusterer`` on ``events`` (with truth ``track_id``).

    Args:
        events: event dicts.
        clusterer: a built clusterer.
        inputs: per-event keyword inputs of ``cluster`` (precomputed model outputs).
        min_hits: reconstructable particles and candidate tracks need this many hits.
    """
    from hepgraph.metrics.tracking import tracking_metrics

    ev_ids, truth, pred = [], [], []
    for k, ev in enumerate(events):
        lab = clusterer.cluster(ev, **(dict(inputs[k]) if inputs is not None else {}))
        ev_ids.append(np.full(lab.size, k))
        truth.append(np.asarray(ev["track_id"], np.int64))
        pred.append(lab)
    return tracking_metrics(np.concatenate(ev_ids), np.concatenate(truth), np.concatenate(pred),
                            min_hits=min_hits, min_track_hits=min_hits)


def _combos(space: Mapping[str, Sequence[Any]], trials: int, seed: int) -> Generator[tuple[int, ...], bool | None, None]:
    """Index tuples to try: the whole grid when it has at most ``trials`` combinations, else a
    seeded random half of the budget, then hill climbing (see :func:`search`). The caller
    sends back each tried tuple's result through ``generator.send(better: bool)``."""
    sizes = [len(space[k]) for k in space]
    total = int(np.prod(sizes)) if sizes else 1
    if total <= trials:
        for idx in itertools.product(*(range(n) for n in sizes)):
            yield idx               # (what is sent back does not change a full grid)
        return
    rng = np.random.default_rng(seed)
    tried: set[tuple[int, ...]] = set()
    best: tuple[int, ...] | None = None
    for p in rng.choice(total, size=max(trials // 2, 1), replace=False):
        idx = tuple(int(v) for v in np.unravel_index(int(p), sizes))
        tried.add(idx)
        if (yield idx) or best is None:
            best = idx
    while len(tried) < trials:
        steps = [best[:j] + (best[j] + d,) + best[j + 1:] for j in range(len(sizes)) for d in (-1, 1)]
        steps = [t for t in steps if all(0 <= t[j] < sizes[j] for j in range(len(sizes))) and t not in tried]
        if not steps:                       # a local optimum: the rest of the budget at random
            untried = (t for t in (tuple(int(v) for v in np.unravel_index(int(p), sizes))
                                   for p in rng.permutation(total)) if t not in tried)
            nxt = next(untried, None)
            if nxt is None:
                return
            steps = [nxt]
        for t in steps:
            if len(tried) >= trials:
                return
            tried.add(t)
            if (yield t):
                best = t
                break


def search(events: Sequence[Mapping[str, Any]], build: Callable[[dict[str, Any]], Any],
           space: Mapping[str, Sequence[Any]], *, trials: int = 40, seed: int = 0,
           inputs: Sequence[Mapping[str, Any]] | None = None, min_hits: int = 3,
           progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], dict[str, float], list[dict[str, Any]]]:
    """Grid search of ``space``, or, when the grid is larger than ``trials``, a seeded random
    sample of half the budget followed by hill climbing: from the best so far, the
    combinations that move one option to a neighbouring value of its list (lists are ordered,
    so neighbours are similar settings), moving on at each improvement.

    Args:
        events: validation events with truth.
        build: options -> clusterer (raises ConfigError for an invalid combination, skipped).
        space: option -> candidate values (in order: neighbours are tried in the climb).
        trials: most combinations tried.
        seed: seed of the random sample.
        inputs: per-event inputs of ``cluster`` (precomputed model outputs).
        min_hits: as in :func:`score`.
        progress: called with 1 after each trial.

    Returns:
        ``(best options, their metrics, every trial as {"options", "metrics"})``.

    Raises:
        ConfigError: no combination could be built.
    """
    if not events:
        raise ConfigError("tuning needs validation events with truth; the split holds none")
    keys = list(space)
    best: tuple[Any, ...] | None = None
    table = []
    first_error: ConfigError | None = None
    gen = _combos(space, trials, seed)
    better = None
    while True:
        try:
            idx = gen.send(better)
        except StopIteration:
            break
        opts = {k: space[k][i] for k, i in zip(keys, idx, strict=True)}
        better = False
        try:
            cl = build(dict(opts))
        except ConfigError as err:
            first_error = first_error or err
            continue
        m = score(events, cl, inputs=inputs, min_hits=min_hits)
        table.append({"options": dict(opts), "metrics": m})
        if best is None or objective(m) > objective(best[1]):
            best, better = (dict(opts), m), True
        if progress is not None:
            progress(1)
    if best is None:
        raise ConfigError("no option combination of the search space could be built; the first failed with: "
                          f"{first_error.template if first_error is not None else 'an empty search space'}")
    return best[0], best[1], table


#: Below this |κ| (1/mm; a radius of 100 m) the tracks measured by :func:`truth_curvature`
#: count as straight.
STRAIGHT_KAPPA = 1e-5


def default_space(method: str, manifest: Mapping[str, Any] | None,
                  events: Sequence[Mapping[str, Any]] | None = None) -> dict[str, list[Any]]:
    """The search space of a classical method for the dataset's detector (see module docstring).

    The curvature range covers p_T >= 0.3 GeV in the field the dataset records; where it
    records none, the range is measured on ``events`` (validation events with truth):
    95 % of their particles' curvatures (:func:`~hepgraph.cluster.fit.truth_curvature`).
    Straight tracks whose lines miss the beam (z) axis (:func:`~hepgraph.cluster.fit.truth_lines`,
    median above :data:`POINTING_RAD`) are searched in dbscan's ``slope`` space over their
    slopes; hough, which assumes tracks from the beam line, is refused for them.

    Raises:
        ConfigError: a method without a default space (give one in Python), or no recorded
            field and no ``events`` to measure curvatures on.
    """
    from hepgraph.cluster.hough import pt_curvature

    extra = (manifest or {}).get("extra") or {}
    field = extra.get("field_T")
    z_sigma = float(((extra.get("luminous_region") or {}).get("sigma") or [0, 0, 50.0])[2])
    if method not in ("hough", "dbscan", "hdbscan"):
        raise ConfigError(f"no default search space for method `{method}`; tune one of hough, dbscan, hdbscan")
    if field is not None:
        kmax = pt_curvature(float(field), 0.3)
    elif events:
        from hepgraph.cluster.fit import truth_curvature

        kmax = truth_curvature(events)
    else:
        raise ConfigError("the dataset records no magnetic field (`extra.field_T` in its manifest) and no "
                          "validation events with truth were given to measure track curvatures on")
    straight = kmax < STRAIGHT_KAPPA
    if straight and events:
        from hepgraph.cluster.fit import truth_lines

        lines = truth_lines(events, z_range=(-3 * z_sigma, 3 * z_sigma))
        if lines["pointing"].size and np.median(lines["pointing"]) >= POINTING_RAD:
            return _slope_space(method, lines)
    if method == "hough":
        if straight:
            return {"field_T": [0.0], "n_phi": [128, 256, 512, 1024, 2048], "theta_tol": [0.001, 0.002, 0.004, 0.008],
                    "z0_max": [2 * z_sigma, 3 * z_sigma, 4 * z_sigma], "n_z0": [32, 64, 128], "min_hits": [3]}
        curv: dict[str, list[Any]] = ({"pt_min": [0.3, 0.5, 1.0]} if field is not None else
                                      {"kappa_max": [round(kmax * f, 9) for f in (0.5, 1.0, 2.0)]})
        return {"n_phi": [512, 1024, 2048, 4096], "n_kappa": [64, 128, 256, 512, 1024], **curv,
                "theta_tol": [0.005, 0.01, 0.02, 0.05], "z0_max": [2 * z_sigma, 3 * z_sigma], "n_z0": [16, 32],
                "min_hits": [3]}
    if straight:
        z0 = [[float(v) for v in np.linspace(-3 * z_sigma, 3 * z_sigma, k)] for k in (25, 49, 97, 193)]
        base: dict[str, list[Any]] = {"space": ["direction"], "z0": z0, "max_hits": [None, 40]}
    else:
        curvs = [[0.0]] + [[round(float(k), 9) for k in np.linspace(-kmax, kmax, n)] for n in (9, 21, 41)]
        z0 = [[0.0]] + [[float(v) for v in np.linspace(-2 * z_sigma, 2 * z_sigma, n)] for n in (5, 9)]
        base = {"space": ["helix"], "curvature": curvs, "z0": z0, "z_scale": [0.05, 0.1, 0.3, 1.0],
                "max_hits": [None, 40]}
    if method == "dbscan":
        eps = [0.0003, 0.0005, 0.001, 0.002, 0.004] if straight else [0.005, 0.01, 0.02, 0.03, 0.05]
        return {**base, "eps": eps, "min_samples": [1, 2, 3], "min_hits": [3]}
    return {**base, "min_cluster_size": [3, 4], "min_samples": [1, 2, 3], "selection_eps": [0.0, 0.002, 0.01],
            "min_hits": [3]}


#: Straight tracks "come from the beam line" when their lines miss the z axis within the
#: scanned vertex range (3 σ of the luminous region) by less than this angle (rad, median
#: over the validation particles; the largest ``direction`` eps).
POINTING_RAD = 2e-3


def _slope_space(method: str, lines: Mapping[str, np.ndarray]) -> dict[str, list[Any]]:
    """Straight tracks that do not come from the beam line (a telescope's parallel beam):
    dbscan in the ``slope`` space, scanning the slopes the validation particles have
    (``lines``: :func:`~hepgraph.cluster.fit.truth_lines`)."""
    if method == "hough":
        raise ConfigError("these straight tracks do not come from the beam line (z axis), which hough's "
                          "straight-line transform assumes; tune dbscan (its `slope` space) instead")
    ok = np.isfinite(lines["tx"]) & np.isfinite(lines["ty"])
    t = np.stack([lines["tx"][ok], lines["ty"][ok]], 1) if ok.any() else np.zeros((1, 2))
    lo, mid, hi = np.quantile(t, [0.02, 0.5, 0.98], axis=0)
    grids = []
    for n in (1, 3, 7):
        gx, gy = ([m] if n == 1 else np.linspace(a, b, n) for m, a, b in zip(mid, lo, hi, strict=True))
        grids.append([[round(float(x), 9), round(float(y), 9)] for x in gx for y in gy])
    base: dict[str, list[Any]] = {"space": ["slope"], "slope": grids, "max_hits": [None, 40], "min_hits": [3]}
    if method == "dbscan":
        return {**base, "eps": [0.1, 0.3, 1.0, 3.0, 10.0], "min_samples": [1, 2, 3]}
    return {**base, "min_cluster_size": [3, 4], "min_samples": [1, 2, 3], "selection_eps": [0.0, 0.3, 1.0]}


def write_settings(path: str | Path, method: str, options: Mapping[str, Any], metrics: Mapping[str, float],
                   *, overwrite: bool = False, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the chosen settings as YAML, atomically (refuses an existing file without ``overwrite``)."""
    import yaml

    from hepgraph.atomic import atomic_file

    doc = {"method": method, "options": _plain(dict(options)),
           "validation": _plain({k: v for k, v in metrics.items()}), **_plain(dict(extra or {}))}
    with atomic_file(path, overwrite=overwrite, what="settings file") as tmp:
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    return Path(path)


def read_settings(path: str | Path) -> tuple[str, dict[str, Any]]:
    """``(method, options)`` of a settings file written by :func:`write_settings`.

    Raises:
        ConfigError: not a mapping with ``method`` (a string) and ``options`` (a mapping).
    """
    from hepgraph.config import load_yaml

    doc = load_yaml(path)
    method, options = doc.get("method"), doc.get("options", {})
    if not isinstance(method, str) or not isinstance(options, Mapping):
        raise ConfigError(f"settings file `{path}` needs `method: NAME` and `options: {{...}}` "
                          "(as written by tuning: `hepgraph cluster --tune`)")
    unknown = sorted(str(k) for k in doc if k not in SETTINGS_KEYS)
    if unknown:  # e.g. `eps: 0.1` beside `method:` would be silently ignored
        raise ConfigError(f"settings file `{path}`: unknown top-level key(s) `{', '.join(unknown)}` "
                          f"(valid: {', '.join(SETTINGS_KEYS)}); clusterer options go under `options:`")
    return method, dict(options)


def _plain(x: Any) -> Any:
    """YAML-safe Python values for numpy scalars and tuples."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x
