"""``hepgraph demo``: the whole chain on built-in simulators, with a Markdown report.

Steps (each a function below): build small ``sim-lartpc`` and ``sim-drift-chamber``
datasets; compare a dense and a sparse ResNet-18 on LArTPC particle ID (same split, seed
and epochs); train an interaction-network edge classifier on the drift chamber and find
tracks with the ``gnn`` clusterer and with ``dbscan``; draw event displays; write
``OUT/report.md``. The plan sizes (events, epochs, widths) are chosen so that the quick plan
finishes within 2 minutes and the full plan within 10 on a 2-core CPU.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


#: The edge classifier's graph: consecutive layers, skipping up to 2 (detector inefficiency),
#: within 0.15 rad in phi and 200 mm in z (docs/benchmarks.md, "Track finding").
LAYER_GRAPH = ("model.graph=layers", "model.graph_kwargs={dphi: 0.15, dz: 200.0, max_gap: 3}")
#: Track building from the edge scores: outward chains (see hepgraph.cluster.graph).
GNN_CLUSTERER = {"name": "gnn", "mode": "chain", "threshold": 0.1}


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of one demo run.

    Attributes:
        lartpc_events, chamber_events: events simulated per dataset.
        pid_epochs, gnn_epochs: training epochs (particle ID, edge classifier).
        dense, sparse: the particle-ID model pair and their options (``--set`` strings).
        gnn_options: interaction-network options.
        seed: the seed of everything.
    """

    lartpc_events: int = 600
    chamber_events: int = 160
    pid_epochs: int = 6
    gnn_epochs: int = 8
    dense: str = "dense-resnet18"
    sparse: str = "sparse-resnet18"
    dense_options: tuple[str, ...] = ("model.base_channels=8", "model.image_shape=[48,48]")
    sparse_options: tuple[str, ...] = ("model.base_channels=8", "model.voxel_size=24.0")
    gnn_options: tuple[str, ...] = ("model.hidden_channels=32", "model.num_iterations=3", *LAYER_GRAPH)
    batch_size: int = 8
    lartpc_displays: int = 2
    seed: int = 0


QUICK = DemoPlan(lartpc_events=60, chamber_events=30, pid_epochs=2, gnn_epochs=2, lartpc_displays=1,
                 dense_options=("model.base_channels=4", "model.image_shape=[32,32]"),
                 sparse_options=("model.base_channels=4", "model.voxel_size=36.0"),
                 gnn_options=("model.hidden_channels=16", "model.num_iterations=2", *LAYER_GRAPH))
FULL = DemoPlan()


@dataclass
class DemoResult:
    """What the demo produced (also written as ``OUT/demo.json``)."""

    out: Path
    report: Path
    pid: dict[str, Any] = field(default_factory=dict)
    tracking: dict[str, dict[str, float]] = field(default_factory=dict)
    edge_metrics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def build_sim(name: str, out: Path, events: int, seed: int) -> Path:
    """Simulate ``events`` events of the built-in source ``name`` into ``out``."""
    import hepgraph.sources  # noqa: F401  (fills SOURCES)
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset

    src = SOURCES.get(name)(inputs=None, mapping=None, seed=seed, params={"events": events})
    return build_dataset(src, out, max_events=events, seed=seed, overwrite=True)


def compare_pid(data: Path, out: Path, plan: DemoPlan, progress: Any = None) -> dict[str, Any]:
    """Dense vs sparse particle ID on the same split; writes ``out/comparison.*``."""
    from hepgraph.compare import compare_models, write_comparison

    res = compare_models(data, [plan.dense, plan.sparse], out, progress=progress,
                         model_overrides={plan.dense: list(plan.dense_options),
                                          plan.sparse: list(plan.sparse_options)},
                         task="classification", epochs=plan.pid_epochs, seed=plan.seed, device="cpu",
                         batch_size=plan.batch_size)
    write_comparison(res, out, title="LArTPC particle ID: dense vs sparse")
    return res


def find_tracks(data: Path, out: Path, plan: DemoPlan, progress: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train the edge classifier, cluster the test split with ``gnn`` and ``dbscan``.

    Returns:
        ``(edge-classifier result of train_and_evaluate, {method: ClusterResult})``.
    """
    from hepgraph.cluster.run import cluster_dataset
    from hepgraph.compare import train_and_evaluate
    from hepgraph.store.dataset import EventDataset

    gnn = train_and_evaluate(data, "interaction-network", out / "gnn", task="edge-classification",
                             epochs=plan.gnn_epochs, seed=plan.seed, device="cpu",
                             batch_size=max(2, plan.batch_size // 2), overrides=list(plan.gnn_options),
                             callback=progress)
    ds = EventDataset(data)
    test = ds.split("test")
    found = {}
    for method in ("gnn", "dbscan"):
        found[method] = cluster_dataset(test, _clusterer(method, gnn["run_dir"], ds.manifest))
    return gnn, found


def _clusterer(method: str, run_dir: str, manifest: dict[str, Any]) -> Any:
    """``gnn`` with the trained edge classifier (rebuilt by :func:`hepgraph.runs.load.load_run`),
    or a classic clusterer with the dataset's defaults."""
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.registry import CLUSTERERS
    from hepgraph.runs.load import load_run

    if method != "gnn":
        return build_clusterer(method, manifest=manifest)
    loaded = load_run(run_dir, "cpu")
    return CLUSTERERS.build({**GNN_CLUSTERER, "model": loaded.model, "features": loaded.features,
                             "device": "cpu"})


def _displays(lartpc: Path, chamber: Path, found: dict[str, Any], out: Path,
              n_lartpc: int = 2) -> list[tuple[str, Path]]:
    """Event displays: one LArTPC event per class, one drift-chamber event with truth/gnn/dbscan."""
    import numpy as np

    from hepgraph.report.display import render_event
    from hepgraph.report.style import pyplot
    from hepgraph.store.dataset import EventDataset

    plt = pyplot()
    figs: list[tuple[str, Path]] = []
    lar = EventDataset(lartpc)
    names = lar.manifest.get("label_names") or []
    seen: set[int] = set()
    for i in range(len(lar)):
        ev = lar[i]
        lab = int(ev.get("label", -1))
        if lab in seen or len(seen) >= n_lartpc:
            continue
        seen.add(lab)
        fig = render_event(ev, lar.manifest, color="semantic" if "semantic" in ev else "charge")
        p = out / f"display_lartpc_{names[lab] if 0 <= lab < len(names) else lab}.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        figs.append((f"LArTPC event {int(ev['event_id'])} (true class {names[lab] if 0 <= lab < len(names) else lab})", p))
    dc = EventDataset(chamber).split("test")
    ev = dc[0]
    eid = int(ev["event_id"])
    for method, res in found.items():
        pred = res.track_id[res.event_id == eid]
        fig = render_event(ev, dc.manifest, color="truth", predictions=np.asarray(pred))
        p = out / f"display_chamber_{method}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        figs.append((f"Drift-chamber event {eid}: truth (top) and {method} tracks (bottom)", p))
    return figs


def run_demo(out: str | Path, plan: DemoPlan = FULL, *, progress: Any = None,
             status: Callable[[str], None] | None = None) -> DemoResult:
    """Run every demo step and write ``out/report.md`` (+ figures, ``demo.json``).

    Args:
        out: output directory (created; its ``data/``, ``pid/``, ``tracking/`` are replaced).
        plan: :data:`QUICK` or :data:`FULL` (or a custom :class:`DemoPlan`).
        progress: trainer progress hooks (and ``on_model``) or None.
        status: called with a short label when a step starts.
    """
    from hepgraph.compare.demo_report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = status or (lambda s: None)
    res = DemoResult(out=out, report=out / "report.md")
    t_all = t = time.perf_counter()

    def lap(key: str) -> None:
        nonlocal t
        now = time.perf_counter()
        res.seconds[key] = now - t
        t = now

    say(f"simulating {plan.lartpc_events} LArTPC events")
    lar = build_sim("sim-lartpc", out / "data" / "lartpc", plan.lartpc_events, plan.seed)
    say(f"simulating {plan.chamber_events} drift-chamber events")
    dc = build_sim("sim-drift-chamber", out / "data" / "drift-chamber", plan.chamber_events, plan.seed)
    lap("simulate")
    say(f"particle ID: {plan.dense} vs {plan.sparse}")
    res.pid = compare_pid(lar, out / "pid", plan, progress)
    lap("particle_id")
    say("tracking: interaction network + gnn clusterer, dbscan")
    gnn, found = find_tracks(dc, out / "tracking", plan, progress)
    res.edge_metrics = gnn
    res.tracking = {m: dict(r.metrics) for m, r in found.items()}
    lap("tracking")
    say("event displays")
    figs = _displays(lar, dc, found, out, plan.lartpc_displays)
    lap("displays")
    res.seconds["total"] = time.perf_counter() - t_all
    write_report(res, plan, figs)
    (out / "demo.json").write_text(json.dumps({
        "plan": dataclasses.asdict(plan), "seconds": res.seconds, "tracking": res.tracking,
        "pid": [{k: m[k] for k in ("model", "headline", "parameters", "train_events_per_s",
                                    "infer_events_per_s", "peak_train_mib")} | {"test": m["test"].get(m["headline"])}
                for m in res.pid["models"]],
        "edge_auc": gnn["test"].get("auc")}, indent=2, default=float))
    return res
