"""Exceptions for user mistakes.

Every user mistake (a missing file, a bad config key, NaN coordinates, ...) raises a
:class:`HepgraphError` subclass whose message says what is wrong and how to fix it.
The CLI prints that message on one line and exits with status 2. Bugs raise normally.

A message names the setting that fixes the mistake with :func:`setting`, never with a
command-line flag: from Python it reads as the keyword or config key
(``overwrite=True``, ``task.num_classes=K``); the CLI prints the same message with its own
flags (``--overwrite``, ``--set task.num_classes=K``; :mod:`hepgraph.cli.flags`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: Delimits a setting inside a message (ASCII record separator: never in a path or a name
#: a user types without the CLI escaping it).
_MARK = "\x1e"
_SETTING = re.compile(f"{_MARK}([^{_MARK}]*){_MARK}([^{_MARK}]*){_MARK}")


def setting(key: str, value: object = None) -> str:
    """The setting ``key`` (a keyword or a dotted config key) with an example ``value``, for a message.

    >>> str(ConfigError(f"no model given: set {setting('model.name', 'NAME')}"))
    'no model given: set `model.name=NAME`'
    """
    return f"{_MARK}{key}{_MARK}{'' if value is None else value}{_MARK}"


def render(message: str, form: Callable[[str, str], str]) -> str:
    """``message`` with each :func:`setting` written by ``form(key, value)`` (value ``""`` if none)."""
    return _SETTING.sub(lambda m: form(m[1], m[2]), message)


def python_form(key: str, value: str) -> str:
    """How a setting reads from Python: ``key=value`` (or ``key``) in backticks."""
    return f"`{key}={value}`" if value else f"`{key}`"


class HepgraphError(Exception):
    """Base class of all errors caused by user input."""

    def __str__(self) -> str:
        return render(super().__str__(), python_form)

    @property
    def template(self) -> str:
        """The message with its settings unrendered (for :func:`render` in another form)."""
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class ConfigError(HepgraphError, ValueError):
    """A configuration value, key or command-line option is invalid."""


class UnknownNameError(ConfigError):
    """A name was looked up in a registry that does not hold it."""


class DataError(HepgraphError, ValueError):
    """Input data are missing, malformed or inconsistent."""


class MissingDependencyError(HepgraphError, ImportError):
    """An optional dependency needed for the requested feature is not installed."""


class OutputExistsError(HepgraphError, FileExistsError):
    """An output path exists and the caller did not say to replace it (``overwrite``)."""


class FileSystemError(HepgraphError, OSError):
    """The operating system refused a path the user gave (missing, read-only, full disk, ...)."""
