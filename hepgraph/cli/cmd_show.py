"""``hepgraph show``: draw one event of a dataset to a PNG (3D view + three projections)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add ``show``."""

    @app.command("show")
    @handle_errors
    def show_cmd(
        dataset: Annotated[Path, typer.Argument(help="Dataset directory (from build-dataset).")],
        event: Annotated[int, typer.Option("--event", help="Index of the event in the dataset (0-based).")] = 0,
        out: Annotated[Path, typer.Option("--out", help="Output image (.png, .pdf or .svg).")] = Path("event.png"),
        color: Annotated[
            str, typer.Option("--color", help="Colour hits by: truth (track id), semantic (class) or charge.")
        ] = "truth",
        predictions: Annotated[
            Optional[Path],
            typer.Option("--predictions", help="CSV/Parquet with event_id, hit_id, track_id: predicted clusters "
                         "drawn beside the truth."),
        ] = None,
        dpi: Annotated[int, typer.Option("--dpi", min=30, help="Image resolution (dots per inch).")] = 100,
    ) -> None:
        """Draw one event: 3D hits and the x-y, z-x, z-y projections (mm) with the detector outline."""
        import os
        import tempfile

        from hepgraph import open_dataset
        from hepgraph.errors import ConfigError
        from hepgraph.report.display import COLORS, load_predictions, render_event

        if color not in COLORS:
            raise ConfigError(f"--color `{color}` is not one of {', '.join(COLORS)}")
        ds = open_dataset(dataset)
        if not 0 <= event < len(ds):
            raise ConfigError(f"--event `{event}` is out of range: the dataset has {len(ds)} events (0..{len(ds) - 1})")
        ev = ds[event]
        pred = None
        if predictions is not None:
            pred = load_predictions(predictions, int(ev["event_id"]), len(ev["x"]), ev.get("hit_id"))
        fig = render_event(ev, ds.manifest, color=color, predictions=pred)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=out.suffix or ".png", dir=out.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=dpi)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        typer.echo(f"wrote {out} (event_id {int(ev['event_id'])}, {len(ev['x'])} hits, color={color})")
