"""Exceptions for user mistakes.

Every user mistake (a missing file, a bad config key, NaN coordinates, ...) raises a
:class:`HepgraphError` subclass whose message says what is wrong and how to fix it.
The CLI prints that message on one line and exits with status 2. Bugs raise normally.
"""

from __future__ import annotations


class HepgraphError(Exception):
    """Base class of all errors caused by user input."""


class ConfigError(HepgraphError, ValueError):
    """A configuration value, key or command-line option is invalid."""


class UnknownNameError(ConfigError):
    """A name was looked up in a registry that does not hold it."""


class DataError(HepgraphError, ValueError):
    """Input data are missing, malformed or inconsistent."""


class MissingDependencyError(HepgraphError, ImportError):
    """An optional dependency needed for the requested feature is not installed."""


class OutputExistsError(HepgraphError, FileExistsError):
    """An output path exists and the command was not told to replace it (``--overwrite``)."""


class FileSystemError(HepgraphError, OSError):
    """The operating system refused a path the user gave (missing, read-only, full disk, ...)."""
