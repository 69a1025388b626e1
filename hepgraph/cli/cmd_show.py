"""``hepgraph show``: draw one event of a dataset to an image (3D view + three projections)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import handle_errors

DISPLAYS = ("hits", "channels")


#: suffixes matplotlib writes and a user may open as an image
IMAGE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


def register(app: typer.Typer) -> None:
    """Add ``show``."""
    app.command("show")(show)


@handle_errors
def show(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory (from build-dataset).")],
    event: Annotated[int, typer.Option("--event", help="Index of the event in the dataset (0-based).")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Output image (.png, .pdf or .svg).")] = Path("event.png"),
    color: Annotated[
        str, typer.Option("--color", help="Colour hits by: truth (particle; charge when the dataset has "
                          "no truth), semantic (class) or charge. Channels: time (first hit, ns) or charge.")
    ] = "truth",
    predictions: Annotated[
        Optional[Path],
        typer.Option("--predictions", help="CSV/Parquet with event_id, hit_id, track_id: predicted clusters "
                     "drawn beside the truth, each in the colour of its matched particle."),
    ] = None,
    match: Annotated[str, typer.Option(
        "--match", help="Cluster-to-particle matching: hungarian (one to one) or majority.")] = "hungarian",
    top: Annotated[int, typer.Option(
        "--top", min=1, help="Particles with their own colour and legend entry (the rest grey).")] = 20,
    display: Annotated[str, typer.Option(
        "--display", help="hits (one point per hit) or channels (one marker per channel position, for "
                          "PMT/optical detectors; area ~ charge).")] = "hits",
    dpi: Annotated[int, typer.Option("--dpi", min=30, max=1200, help="Image resolution (dots per inch, 30-1200).")] = 100,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out image.")] = False,
) -> None:
    """Draw one event: 3D view and the x-y, z-x, z-y projections (mm) with the detector outline."""
    from hepgraph import open_dataset
    from hepgraph.atomic import atomic_file, refuse_existing
    from hepgraph.errors import ConfigError

    if display not in DISPLAYS:
        raise ConfigError(f"--display `{display}` is not one of {', '.join(DISPLAYS)}")
    refuse_existing(out, overwrite, "image")
    if out.suffix.lower().lstrip(".") not in IMAGE_FORMATS:
        raise ConfigError(f"--out `{out}`: `{out.suffix or 'no suffix'}` is not an image format; "
                          f"use one of {', '.join('.' + f for f in IMAGE_FORMATS)}")
    ds = open_dataset(dataset)
    if not 0 <= event < len(ds):
        raise ConfigError(f"--event `{event}` is out of range: the dataset has {len(ds)} events (0..{len(ds) - 1})")
    ev = ds[event]
    if display == "channels":
        from hepgraph.report.channels import channel_positions, render_channels

        color = "time" if color == "truth" else color
        fig = render_channels(ev, ds.manifest, color=color, all_channels=channel_positions(ds))
    else:
        from hepgraph.report.display import choose_color, load_predictions, render_event

        color, note = choose_color(ev, color)
        if note:
            typer.echo(f"note: {note}", err=True)
        pred = None
        if predictions is not None:
            pred = load_predictions(predictions, int(ev["event_id"]), len(ev["x"]), ev.get("hit_id"))
        fig = render_event(ev, ds.manifest, color=color, predictions=pred, match=match, top=top)
    with atomic_file(out, overwrite=overwrite, what="image") as tmp:
        fig.savefig(tmp, dpi=dpi)
    typer.echo(f"wrote {out} (event_id {int(ev['event_id'])}, {len(ev['x'])} hits, color={color})")
