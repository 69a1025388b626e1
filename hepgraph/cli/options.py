"""Options shared by several commands, and the HepgraphError -> exit 2 boundary."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

from hepgraph.cli.flags import cli_message
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


class Terminated(BaseException):
    """SIGTERM arrived (a batch system ending the job): unwinds like Ctrl-C."""


_hint: dict[str, str] = {}


def set_interrupt_hint(hint: str) -> None:
    """What to tell the user if this command is interrupted or terminated (e.g. how to resume)."""
    _hint["text"] = hint


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


def handle_errors(fn: F) -> F:
    """Decorator: a :class:`HepgraphError` or ``OSError`` becomes one line on stderr and exit
    status 2; Ctrl-C (130) and SIGTERM (143) say what happened and how to go on."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import signal
        import threading

        _hint.clear()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            return fn(*args, **kwargs)
        except HepgraphError as err:
            fail(cli_message(err))
        except OSError as err:  # missing, read-only, full disk: the user's environment, not a bug
            from hepgraph.atomic import os_error

            fail(str(os_error(err, "use")))
        except (KeyboardInterrupt, Terminated) as err:
            word, code = ("terminated", 143) if isinstance(err, Terminated) else ("interrupted", 130)
            typer.echo(f"{word}" + (f"; {_hint['text']}" if _hint.get("text") else ""), err=True)
            sys.exit(code)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]
