"""``hepgraph generate``: events from a generator run (``--task generate``) as a dataset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add ``generate``."""
    app.command("generate", no_args_is_help=True)(generate)


@handle_errors
def generate(
    run: Annotated[Path, typer.Argument(help="Run directory (or checkpoint) trained with --task generate.",
                                        show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to create.")],
    events: Annotated[int, typer.Option("--events", min=1, help="Number of events (one track each).")] = 1000,
    like: Annotated[Optional[Path], typer.Option("--like", help="Dataset whose particles (momentum GeV, vertex mm, "
                                                 "species) condition the events, in order; default: the training "
                                                 "particles stored in the run.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed -> same events).")] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Tracks generated at once.")] = 256,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")] = False,
) -> None:
    """Generate events with a trained generator and write them as a dataset every command reads.

    Each event holds one track: clusters (x, y, z in mm, charge in the training unit, and the
    slot column such as pad_col) for a particle, plus its truth (particle_* columns, track_id)
    and the targets p, pt, theta, phi (GeV, rad) and vx, vy, vz (mm).
    """
    from hepgraph.cli.progress import live_progress
    from hepgraph.runs.generate import generate_dataset
    from hepgraph.runs.layout import pick_device

    device = str(pick_device(device))

    t0 = time.perf_counter()
    with live_progress() as prog:
        task = prog.add_task(f"generating {events} events", total=events)
        path = generate_dataset(run, out, events, like=like, seed=seed, batch_size=batch_size, device=device,
                                overwrite=overwrite, progress=lambda ev, hits: prog.advance(task, ev))
    dt = time.perf_counter() - t0
    typer.echo(f"wrote {path}: {events} events in {dt:.1f} s ({events / max(dt, 1e-9):,.0f} events/s, "
               "dataset writing included)")
