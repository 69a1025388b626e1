"""``hepgraph info``: what a dataset directory holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hepgraph.cli.options import handle_errors


def register(app: typer.Typer) -> None:
    """Add ``info``."""
    app.command("info")(info)


@handle_errors
def info(
    path: Annotated[Path, typer.Argument(help="Dataset directory.", show_default=False)],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Also check every shard against its SHA-256.")
    ] = False,
) -> None:
    """Show a dataset: events, hits per event, columns with units, labels, size on disk."""
    from hepgraph.store.info import dataset_info

    if verify:
        from hepgraph.cli.cmd_verify import verify_with_progress

        verify_with_progress(path, quiet=as_json)
    info = dataset_info(path)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console()
    h = info["hits_per_event"]
    con.print(f"[bold]{escape(info['path'])}[/bold]  source [cyan]{escape(str(info['source']))}[/cyan]  "
              f"{info['events']:,} events, {info['hits']:,} hits "
              f"(per event min {h['min']}, median {h['median']:g}, max {h['max']}), "
              f"{info['shards']} shard(s), {info['size_bytes'] / 2**20:.2f} MiB on disk",
              highlight=False)
    if info["splits"]:
        splits = ", ".join(f"{k} {v:,}" for k, v in info["splits"].items())
        con.print("splits: " + splits, highlight=False)
    if info["default_task"]:
        con.print(f"default task: {info['default_task']}", highlight=False)
    t = Table(title="columns")
    for c in ("column", "kind", "dtype", "unit"):
        t.add_column(c)
    for name, c in info["columns"].items():
        t.add_row(name, c["kind"], c["dtype"], c["unit"] or "-")
    con.print(t)
    for col, rows in info["labels"].items():
        lt = Table(title=f"{col} classes")
        for c in ("index", "name", "count"):
            lt.add_column(c)
        for r in rows:
            lt.add_row(str(r["index"]), r["name"] or "-", f"{r['count']:,}")
        con.print(lt)
