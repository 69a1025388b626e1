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
    from hepgraph.cli import (
        cmd_build,
        cmd_cluster,
        cmd_compare,
        cmd_demo,
        cmd_evaluate,
        cmd_export,
        cmd_generate,
        cmd_info,
        cmd_models,
        cmd_predict,
        cmd_show,
        cmd_train,
        cmd_verify,
    )

    for mod in (cmd_build, cmd_info, cmd_verify, cmd_show, cmd_models, cmd_train, cmd_evaluate,
                cmd_predict, cmd_export, cmd_cluster, cmd_compare, cmd_demo, cmd_generate):
        mod.register(app)


_register()
