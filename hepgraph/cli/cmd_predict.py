"""``hepgraph predict``: per-event / per-hit predictions to a ROOT TTree, Parquet or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command."""
    app.command("predict", no_args_is_help=True)(predict)


@handle_errors
def predict(
    run: Annotated[Path, typer.Argument(help="Run directory (uses checkpoints/best.pt) or a .pt file.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset directory (labels not needed).")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .root (a TTree, one entry per event/hit/edge), "
                                      ".parquet or .csv; same columns in each.")],
    split: Annotated[Optional[str], typer.Option("--split", help="Only the train/val/test split of --data.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Events per batch.")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu | cuda | auto.")] = "auto",
    workers: Annotated[int, typer.Option("--workers", min=0, help="Loader worker processes.")] = 0,
    max_events: Annotated[Optional[int], typer.Option("--max-events", min=1, help="At most N events.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file (refused, and kept, "
                                            "without it).")] = False,
    tree: Annotated[str, typer.Option("--tree", help="TTree name for .root output.")] = "predictions",
) -> None:
    """Write predictions keyed by event_id (and hit_id), with the task's truth columns when the data have them.

    Columns: identifier-safe names (prob_e_minus), pred (class index; class names in the
    `classes` tree or Parquet metadata), pred_<target> and sigma_<target> in the target's
    unit (GeV, mm, rad) for regression.
    """
    from rich.console import Console

    from hepgraph.cli.progress import live_progress
    from hepgraph.runs.layout import pick_device
    from hepgraph.runs.predict import predict as run_predict

    console = Console(stderr=True)
    with live_progress(console=console) as prog:
        tid = prog.add_task("predicting", total=None)
        path = run_predict(run, data, out, split=split, batch_size=batch_size, device=str(pick_device(device)),
                           workers=workers, max_events=max_events, overwrite=overwrite, tree=tree,
                           progress=lambda n: prog.advance(tid, n))
    console.print(f"[green]predictions[/green]: {path}", highlight=False)
