"""``hepgraph demo``: simulate, compare dense vs sparse, find tracks, write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo)


@handle_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output directory for the datasets, runs and report.md.")] = Path("hepgraph-demo"),
    quick: Annotated[bool, typer.Option("--quick", help="Smaller plan (about 2 minutes on a 2-core CPU instead of 10).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed -> same result).")] = 0,
    threads: Annotated[int, typer.Option("--threads", min=0, help="CPU threads (0 = auto: 1 when the machine is busy).")] = 0,
) -> None:
    """The whole chain on built-in simulators: LArTPC particle ID (dense vs sparse), drift-chamber
    track finding (GNN vs DBSCAN), event displays; writes OUT/report.md."""
    import dataclasses

    from rich.console import Console

    from hepgraph.cli.progress import CompareProgress
    from hepgraph.cli.threads import apply_threads
    from hepgraph.compare.demo import FULL, QUICK, run_demo
    from hepgraph.compare.report import fmt

    console = Console(stderr=True)
    console.print(f"[cyan]>[/cyan] {apply_threads(threads)} CPU thread(s)", highlight=False)
    plan = dataclasses.replace(QUICK if quick else FULL, seed=seed)
    prog = CompareProgress(console)
    with prog.inner:
        res = run_demo(out, plan, progress=prog,
                       status=lambda s: console.print(f"[cyan]>[/cyan] {s}", highlight=False))
    con = Console()
    con.print(f"[bold]hepgraph demo[/bold] finished in {fmt(res.seconds['total'])} s", highlight=False)
    for m in res.pid["models"]:
        con.print(f"  particle ID  {m['model']:<18} test {m['headline']} {fmt(m['test'].get(m['headline']))}"
                  f"  ({fmt(m['train_events_per_s'])} train ev/s, {fmt(m['parameters'])} parameters)", highlight=False,
                  soft_wrap=True)
    for method, mt in res.tracking.items():
        con.print(f"  tracking     {method:<18} efficiency {fmt(mt.get('efficiency'))}  fake rate "
                  f"{fmt(mt.get('fake_rate'))}  TrackML score {fmt(mt.get('trackml_score'))}", highlight=False,
                  soft_wrap=True)
    con.print(f"Report: [green]{res.report}[/green]", highlight=False)
