"""Track building chosen on validation events for a trained edge classifier: ``RUN/cluster.yaml``.

At the end of a training run with ``task.calibrate_events`` > 0, the run's best
checkpoint is loaded, its outputs are computed once on up to that many validation events,
and the ``gnn`` clusterer's builder (``triplets`` when the model scores triplets,
``chain``, ``walk``, ``components``) and thresholds are searched with
:func:`hepgraph.cluster.tune.search`; then, around the winner (its builder, or ``walk`` when
it was ``components``, its threshold and the neighbouring ones), the path refinement:
``kink_max`` (cut tracks where they bend more) and ``join_threshold`` (join path ends
through weaker edges), kept only when it scores better on the same events. The winner goes
to ``RUN/cluster.yaml`` (the format ``hepgraph cluster --config`` reads), with its
validation metrics and the graph
construction report of the model (edge efficiency and purity before the GNN);
``hepgraph cluster --method gnn --run RUN`` starts from these settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["calibrate_run", "gnn_space", "refine_space", "SETTINGS_FILE"]

#: The settings file of a run.
SETTINGS_FILE = "cluster.yaml"

THRESHOLDS = [0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9]
#: ``kink_max`` candidates (rad): from straight tracks through forward planes (~0.01) to cells of a
#: curling low-momentum track (~1).
KINKS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]  # no refinement: the first search
JOINS = [None, 0.05, 0.1, 0.2, 0.3, 0.5]


def gnn_space(triplets: bool) -> dict[str, list[Any]]:
    """Builder and threshold candidates of the ``gnn`` clusterer."""
    modes = ["triplets", "chain", "walk", "components"] if triplets else ["chain", "walk", "components"]
    return {"mode": modes, "threshold": THRESHOLDS, "triplet_threshold": [0.0, 0.3, 0.6], "min_hits": [3]}


def refine_space(best: dict[str, Any]) -> dict[str, list[Any]]:
    """Path-refinement candidates around the chosen builder (see the module docstring)."""
    i = THRESHOLDS.index(best["threshold"]) if best["threshold"] in THRESHOLDS else None
    near = [best["threshold"]] if i is None else THRESHOLDS[max(i - 1, 0): i + 2]
    mode = "walk" if best["mode"] == "components" else best["mode"]
    return {"mode": [mode], "threshold": near, "triplet_threshold": [best.get("triplet_threshold", 0.0)],
            "min_hits": [3], "kink_max": KINKS, "join_threshold": JOINS}


#: The track building is chosen on at least this many validation particles (events are added
#: beyond ``max_events``, up to 20 times as many, until their particles reach it).
MIN_PARTICLES = 1000


def _particles(event: Any) -> int:
    tid = np.asarray(event["track_id"], np.int64)
    return int(np.unique(tid[tid >= 0]).size)


def calibrate_run(run_dir: str | Path, dataset: Any, *, max_events: int = 60, trials: int = 200,
                  device: str = "cpu") -> dict[str, Any]:
    """Choose the ``gnn`` track building of a run on validation events and write ``cluster.yaml``.

    Args:
        run_dir: the training run directory.
        dataset: validation events with truth.
        max_events: events used; more (up to 20 times as many) while they hold fewer than
            :data:`MIN_PARTICLES` particles (events of 1-3 tracks need more than events of 200).
        trials: most option combinations tried.
        device: torch device of the model.

    Returns:
        ``{"options": ..., "metrics": ...}`` of the chosen settings.
    """
    from hepgraph.cluster.graph import GNNClusterer
    from hepgraph.cluster.learned import load_run
    from hepgraph.cluster.tune import objective, search, write_settings

    model, features, _ = load_run(run_dir, device=device)
    n = min(len(dataset), max_events)
    events = [dataset[i] for i in range(n)]
    particles = sum(_particles(ev) for ev in events)
    while particles < MIN_PARTICLES and n < min(len(dataset), 20 * max_events):
        events.append(dataset[n])
        particles += _particles(events[-1])
        n += 1
    probe = GNNClusterer(model=model, features=features, device=device)
    inputs = [probe.scores(ev) for ev in events]
    has_triplets = bool(inputs) and "triplets" in inputs[0]
    space = gnn_space(has_triplets)

    def build(opts: dict[str, Any]) -> GNNClusterer:
        if opts["mode"] != "triplets" and opts["triplet_threshold"] != 0.0:
            from hepgraph.errors import ConfigError

            raise ConfigError("triplet_threshold only matters for triplets")  # skip duplicates
        return GNNClusterer(**opts, model=model)

    best, metrics, _ = search(events, build, space, trials=trials, inputs=inputs)
    refined, refined_metrics, _ = search(events, build, refine_space(best), trials=trials, inputs=inputs)
    if objective(refined_metrics) > objective(metrics):
        best, metrics = {k: v for k, v in refined.items() if v is not None}, refined_metrics
    if best.get("mode") != "triplets":
        best.pop("triplet_threshold", None)
    extra = {"chosen_on": {"events": n, "split": "val", "objective": "efficiency - fake_rate"},
             "graph": dict(getattr(model, "graph_report", {}) or {})}
    path = Path(run_dir) / SETTINGS_FILE
    write_settings(path, "gnn", best, metrics, overwrite=True, extra=extra)
    log.info("track building chosen on %d validation events: %s -> efficiency %.4f, fake rate %.4f",
             n, best, metrics.get("efficiency", float("nan")), metrics.get("fake_rate", float("nan")))
    return {"options": best, "metrics": metrics}
