"""Options shared by several commands, and the HepgraphError -> exit 2 boundary."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

from hepgraph.errors import HepgraphError

F = TypeVar("F", bound=Callable[..., Any])

SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config value, e.g. --set model.k=16 (repeatable)."),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed (same seed -> same result).")]
WorkersOption = Annotated[
    int, typer.Option("--workers", min=0, help="Worker processes (0 = in the main process).")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output directory.")
]


def fail(message: str) -> None:
    """Print one red line to stderr and exit with status 2."""
    from rich.console import Console
    from rich.markup import escape

    text = " ".join(str(message).split())
    # control characters from file contents (an ANSI escape in a CSV header) are shown, not obeyed
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    msg = escape(text)  # "pip install hepgraph[dask]" is not markup
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {msg}", markup=True)
    raise typer.Exit(code=2)


def handle_errors(fn: F) -> F:
    """Decorator: turn a :class:`HepgraphError` into one line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HepgraphError as err:
            fail(str(err))
        except OSError as err:  # missing, read-only, full disk: the user's environment, not a bug
            from hepgraph.store.atomic import os_error

            fail(str(os_error(err, "use")))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
