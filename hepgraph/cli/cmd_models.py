"""``hepgraph models``: list the registered models (family, representation, size, tasks)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from hepgraph.cli.options import handle_errors


def _fmt(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def listing(pattern: str, in_channels: int) -> list[dict[str, Any]]:
    """The rows of ``hepgraph models``: from the shipped catalogue without importing torch when
    it can serve (default sizes, no plugin installed, the zoo not imported), else from the
    live registry (plugins and other sizes counted afresh)."""
    import sys

    from hepgraph.model_list import shipped_rows
    from hepgraph.plugins import declared

    if in_channels == 1 and "hepgraph.models" not in sys.modules and not declared():
        rows = shipped_rows(pattern)
        if rows or pattern == "*":
            return rows
    from hepgraph.models.catalogue import model_rows

    return model_rows(pattern, in_channels)


def register(app: typer.Typer) -> None:
    """Add the ``models`` command."""
    app.command("models")(models)


@handle_errors
def models(
    pattern: Annotated[str, typer.Argument(
        help="Name filter (fnmatch), e.g. 'sparse-*'; one model's name prints its summary.")] = "*",
    in_channels: Annotated[
        int, typer.Option("--in-channels", min=1, help="Input features per hit for the parameter count.")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    events: Annotated[int, typer.Option("--events", min=1, help="Summary: events in the input batch.")] = 2,
    hits: Annotated[int, typer.Option("--hits", min=1, help="Summary: hits per event (uniform in the extent, mm).")] = 500,
    level: Annotated[Optional[str], typer.Option("--level", help="Summary: event, hit or edge (default: the first the model supports).")] = None,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Summary: deepest module level listed.")] = 2,
) -> None:
    """List models: name, family, representation, parameters (default sizes), supported tasks;
    for one model NAME: its layers, parameters and activation sizes for an input size."""
    import json

    if not any(c in pattern for c in "*?["):  # a name: its summary (a glob lists without importing torch)
        from hepgraph.models import list_models
        from hepgraph.models.factory import resolve_name

        if resolve_name(pattern) in list_models():
            from hepgraph.cli.model_summary import print_summary

            print_summary(resolve_name(pattern), in_channels, events, hits, level, depth, as_json)
            return

    rows = listing(pattern, in_channels)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"hepgraph models (in_channels={in_channels}, default sizes)")
    for col in ("name", "family", "representation", "parameters", "levels", "tasks"):
        table.add_column(col, justify="right" if col == "parameters" else "left",
                         no_wrap=col != "tasks")
    for r in rows:
        table.add_row(r["name"], r["family"], r["representation"], _fmt(r["parameters"]),
                      ", ".join(r["levels"]), ", ".join(r["tasks"]))
    console = Console()
    console.width = max(console.width, 150)  # keep one line per model when piped
    console.print(table)
