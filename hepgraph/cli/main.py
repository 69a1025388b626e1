"""The root ``hepgraph`` typer app; each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from hepgraph import __version__

app = typer.Typer(
    name="hepgraph",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    help="Machine learning on particle-detector hits: datasets, sparse CNNs, GNNs, "
    "transformers and dense baselines, training, evaluation and track finding. "
    "Units: lengths mm, times ns, momenta GeV, deposited energy MeV, fields T.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hepgraph {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """hepgraph: machine learning on particle-detector hits."""


def _register() -> None:
    """Attach every command module (each imports its heavy dependencies lazily)."""
    import importlib
    import pkgutil

    import hepgraph.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            mod = importlib.import_module(f"hepgraph.cli.{info.name}")
            mod.register(app)


_register()
