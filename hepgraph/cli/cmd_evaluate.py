"""``hepgraph evaluate``: metrics.json, PNG plots and a summary table for a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command."""
    app.command("evaluate", no_args_is_help=True)(evaluate)


@handle_errors
def evaluate(
    run: Annotated[Path, typer.Argument(help="Run directory (uses checkpoints/best.pt) or a .pt file.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled dataset directory.")],
    out: Annotated[Path, typer.Option("--out", help="Report directory (metrics.json + plots).")],
    split: Annotated[Optional[str], typer.Option("--split", help="train | val | test | all events of --data (default: test when --data is the run's training dataset, else all).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Events per batch.")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu | cuda | auto.")] = "auto",
    workers: Annotated[int, typer.Option("--workers", min=0, help="Loader worker processes.")] = 0,
    max_events: Annotated[Optional[int], typer.Option("--max-events", min=1, help="Evaluate at most N events.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report.")] = False,
) -> None:
    """Rebuild the model from its checkpoint, evaluate it and write plots."""
    from rich.console import Console
    from rich.table import Table

    from hepgraph.cli.progress import live_progress
    from hepgraph.runs.evaluate import evaluate as run_eval
    from hepgraph.runs.evaluate import headline
    from hepgraph.runs.layout import pick_device

    dev = str(pick_device(device))
    console = Console(stderr=True)
    with live_progress(console=console) as prog:
        tid = prog.add_task("evaluating", total=None)
        metrics = run_eval(run, data, out, split=split, batch_size=batch_size, device=dev, workers=workers,
                           max_events=max_events, overwrite=overwrite,
                           progress=lambda n: prog.advance(tid, n))
    table = Table(title=f"{metrics['task']} · {metrics['model']} · {metrics['split']} split, "
                        f"{metrics['events']} events")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in headline(metrics).items():
        table.add_row(k, f"{v:.4g}")
    Console().print(table)
    for note in metrics.get("notes", []):
        console.print(f"[yellow]note[/yellow]: {note}", highlight=False)
    console.print(f"[green]report[/green]: {out} ({len(metrics.get('plots', []))} plots)", highlight=False)
