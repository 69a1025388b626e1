"""``hepgraph export``: ONNX or TorchScript export of a trained run, checked against PyTorch."""

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
    out: Annotated[Path, typer.Option("--out", help="Output file (.onnx / .pt); never the run's checkpoints.")],
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="Dataset for the check batches (default: synthetic hits inside the model's extent, mm).")] = None,
    events: Annotated[int, typer.Option(
        "--events", min=1, help="Events in the first check batch (the others: 1 and this + 2).")] = 2,
    atol: Annotated[float, typer.Option(
        "--atol", help="Largest allowed |exported - PyTorch| difference (plus 1e-3 x |value|).")] = 1e-4,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out file.")] = False,
) -> None:
    """Export the model with dynamic sizes (hits, events, edges); verify it on three batch sizes.

    Inputs of the exported graph: pos (N, 3) mm, feats (N, C), ptr (B+1,) event offsets, the
    hit columns the model reads (e.g. layer), and edge_index (2, E) for models that use the
    run's graph method. Output: out (B, N or E rows). See docs/export.md.
    """
    from hepgraph.runs.export import export as run_export

    info = run_export(run, fmt, out, data=data, events=events, atol=atol, overwrite=overwrite)
    shapes = ", ".join(f"{b} events/{n} hits" for b, n in info["batches"])
    typer.echo(f"exported {info['format']} to {info['path']}: inputs {', '.join(info['inputs'])}; "
               f"out per {info['level']} (max |diff| {info['max_abs_diff']:.2e} on "
               f"{info['checked_batches']} batches: {shapes})")
    if info["tie_diff"] > atol:
        typer.echo(f"note: on these batches hepgraph's default neighbour search picks other neighbours at "
                   f"equal distance than the export (which takes them in row order); outputs differ by "
                   f"{info['tie_diff']:.2e} between the two choices", err=True)
