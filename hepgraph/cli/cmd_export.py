"""``hepgraph export``: TorchScript or ONNX export of a trained run, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add the ``export`` command."""
    app.command("export", no_args_is_help=True)(export)


@handle_errors
def export(
    run: Annotated[Path, typer.Argument(help="Run directory (uses checkpoints/best.pt) or a .pt file.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx | torchscript.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.onnx / .pt).")],
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset for the check batches (default: synthetic hits).")] = None,
    events: Annotated[int, typer.Option("--events", min=1, help="Events per batch in the exported graph.")] = 2,
    atol: Annotated[float, typer.Option("--atol", help="Largest allowed |exported - PyTorch| difference.")] = 1e-4,
) -> None:
    """Export the model and verify it reproduces PyTorch on two batches."""
    from hepgraph.runs.export import export as run_export

    info = run_export(run, fmt, out, data=data, events=events, atol=atol)
    typer.echo(f"exported {info['format']} to {info['path']} (max |diff| {info['max_abs_diff']:.2e} "
               f"on {info['checked_batches']} batches)")
