"""The demo's ``report.md``: tables and figures from a :class:`~hepgraph.compare.demo.DemoResult`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hepgraph.compare.report import fmt, markdown_table, summary_rows

#: Tracking metrics shown in the report, in order.
TRACKING_KEYS = ("efficiency", "fake_rate", "duplicate_rate", "purity", "trackml_score",
                 "n_particles", "n_tracks", "seconds_per_event")


def tracking_table(tracking: dict[str, dict[str, float]]) -> str:
    """One row per clustering method."""
    lines = ["| method | " + " | ".join(TRACKING_KEYS) + " |", "|---" * (len(TRACKING_KEYS) + 1) + "|"]
    for method, m in tracking.items():
        lines.append(f"| {method} | " + " | ".join(fmt(m.get(k)) for k in TRACKING_KEYS) + " |")
    return "\n".join(lines)


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def write_report(res: Any, plan: Any, figs: Sequence[tuple[str, Path]]) -> Path:
    """Write ``res.out/report.md`` (atomically) and return its path."""
    out: Path = res.out
    pid = res.pid
    rows = summary_rows(pid)
    gnn = res.edge_metrics
    L = ["# hepgraph demo", "",
         f"Built-in simulators only; seed {plan.seed}; CPU. Wall time {fmt(res.seconds.get('total'))} s "
         f"(simulation {fmt(res.seconds.get('simulate'))} s, particle ID {fmt(res.seconds.get('particle_id'))} s, "
         f"tracking {fmt(res.seconds.get('tracking'))} s, displays {fmt(res.seconds.get('displays'))} s).", "",
         "These are demonstration-sized runs (few events, few epochs): the numbers show the chain "
         "works and how costs compare, not the accuracy reachable with full training.", "",
         "## 1. LArTPC particle ID: dense vs sparse", "",
         f"`sim-lartpc`, {plan.lartpc_events} events (5 classes: e-, mu-, gamma, pi+, p), split 70/15/15, "
         f"{plan.pid_epochs} epoch(s), batch {plan.batch_size}. `{plan.dense}` on x-y images "
         f"({', '.join(plan.dense_options)}) vs `{plan.sparse}` on 3D voxels ({', '.join(plan.sparse_options)}): "
         "the same ResNet-18 architecture, only the operators differ.", "",
         markdown_table(rows), ""]
    for name in ("history.png", "costs.png"):
        if (out / "pid" / name).is_file():
            L += [f"![{name[:-4]}]({_rel(out / 'pid' / name, out)})", ""]
    for m in pid["models"]:
        cm = Path(m["run_dir"]).parent / "test" / "confusion_matrix.png"
        if cm.is_file():
            L += [f"Test confusion matrix of `{m['model']}`:", "", f"![confusion {m['model']}]({_rel(cm, out)})", ""]
    t = gnn["test"]
    L += ["## 2. Track finding on the drift chamber", "",
          f"`sim-drift-chamber`, {plan.chamber_events} events. Edge classifier `interaction-network` "
          f"({', '.join(plan.gnn_options)}), {plan.gnn_epochs} epoch(s), {fmt(gnn['parameters'])} parameters; "
          f"test edge AUC {fmt(t.get('auc'))}, efficiency {fmt(t.get('efficiency'))}, purity {fmt(t.get('purity'))} "
          f"at threshold 0.5. Tracks: the `gnn` clusterer (outward chains of the edges scored above 0.1, each hit "
          f"keeping its best edge to the nearest layer inwards and outwards) vs "
          f"`dbscan`, on the test split, scored against the truth (a particle is found when a track holds "
          f"more than half of its hits and more than half of the track's hits are its own).", "",
          tracking_table(res.tracking), ""]
    roc = Path(gnn["run_dir"]).parent / "test"
    for p in sorted(roc.glob("*.png")):
        L += [f"![edge classifier {p.stem}]({_rel(p, out)})", ""]
    L += ["## 3. Event displays", ""]
    for cap, p in figs:
        L += [f"{cap}:", "", f"![{cap}]({_rel(p, out)})", ""]
    L += ["## Reproduce", "", "```", f"hepgraph demo --out {out}" + (" --quick" if plan.lartpc_events < 100 else ""),
          "```", "", "Raw numbers: `demo.json`, `pid/comparison.json`, `tracking/gnn/test/metrics.json`.", ""]
    tmp = out / f".report.md.tmp-{os.getpid()}"
    tmp.write_text("\n".join(L))
    os.replace(tmp, res.report)
    return res.report
