"""The command line's name for each setting a library error names (:func:`hepgraph.errors.setting`).

Library messages say which setting fixes a mistake (``overwrite=True``, ``model.name=NAME``,
``task.num_classes=K``); the CLI prints the flag a user types instead. A setting with a flag
of its own is in :data:`FLAGS`; any other dotted config key reads ``--set key=value``, and
any other keyword ``--keyword value`` (underscores as hyphens, as typer spells options).
"""

from __future__ import annotations

import shlex

from hepgraph.errors import HepgraphError, render

#: Config keys and keywords whose flag is not ``--set key=...`` / ``--key``.
FLAGS = {
    "data.train": "--data",
    "data.val": "--val",
    "model.name": "--model",
    "task.name": "--task",
    "task.targets": "--targets",
    "train.epochs": "--epochs",
    "train.lr": "--lr",
    "train.batch_size": "--batch-size",
}


def cli_form(key: str, value: str) -> str:
    """The flag a user types for the setting ``key`` with the example ``value``.

    Values with spaces or shell characters are quoted, so the flag can be pasted as shown.

    >>> cli_form("overwrite", "True"), cli_form("model.name", "NAME"), cli_form("task.num_classes", "K")
    ('--overwrite', '--model NAME', '--set task.num_classes=K')
    >>> cli_form("data.features", "[x, y, z]")
    "--set 'data.features=[x, y, z]'"
    """
    if key in FLAGS:
        flag = FLAGS[key]
    elif "." in key:
        return f"--set {shlex.quote(f'{key}={value}')}" if value else f"--set {key}=..."
    else:
        flag = "--" + key.replace("_", "-")
    if value in ("", "True"):
        return flag
    return f"{flag} {shlex.quote(value)}"


def cli_message(err: HepgraphError) -> str:
    """The error's message with the command line's flags for its settings."""
    return render(err.template, cli_form)
