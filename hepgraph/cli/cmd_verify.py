"""``hepgraph verify``: check every shard of a dataset against the SHA-256 in its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hepgraph.cli.options import handle_errors


def verify_with_progress(path: Path, quiet: bool = False) -> dict[str, Any]:
    """:func:`hepgraph.store.integrity.verify_dataset` with a progress bar (bytes) on stderr."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

    from hepgraph.cli.progress import live_progress
    from hepgraph.store.integrity import verify_dataset
    from hepgraph.store.manifest import read_manifest

    total = sum(int(s.get("bytes") or 0) for s in read_manifest(path)["shards"])
    columns = (TextColumn("verifying"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with live_progress(*columns, disable=quiet) as prog:
        task = prog.add_task("verify", total=total or None)
        return verify_dataset(path, progress=lambda n: prog.advance(task, n))


def register(app: typer.Typer) -> None:
    """Add ``verify``."""
    app.command("verify", no_args_is_help=True)(verify)


@handle_errors
def verify(
    path: Annotated[Path, typer.Argument(help="Dataset directory.", show_default=False)],
) -> None:
    """Check that every shard of a dataset lies inside it and matches its SHA-256 (exit 2 if not).

    Commands that read a dataset already check each shard the first time they read it; this
    checks all of them now, e.g. after copying a dataset to another machine.
    """
    res = verify_with_progress(path)
    typer.echo(f"ok: {res['shards']} shard(s), {res['bytes'] / 2**20:.1f} MiB match their SHA-256")
