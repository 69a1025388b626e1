"""The rows of ``hepgraph models`` for the shipped models, read from ``models/catalogue.json``
without importing the model zoo (which costs the torch import, seconds on a small machine).

:mod:`hepgraph.models.catalogue` writes the file and builds rows from the live registry when
the file cannot serve (other sizes, plugins, a zoo already imported);
``tests/models/test_catalogue.py`` checks the file against the registry and fresh builds.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

#: The shipped catalogue: per model, its registry metadata, key and parameter count.
CATALOGUE = Path(__file__).with_name("models") / "catalogue.json"

def shipped() -> dict[str, Any]:
    """The catalogue's entries by model name (empty if the file is missing or unreadable)."""
    try:
        return json.loads(CATALOGUE.read_text())
    except (OSError, ValueError):
        return {}


def row(name: str, entry: dict[str, Any], parameters: int) -> dict[str, Any]:
    """One listing row: name, family, representation, parameters, levels and the tasks they serve."""
    return {"name": name, "family": entry["family"], "representation": entry["representation"],
            "parameters": int(parameters), "levels": list(entry["levels"]), "tasks": list(entry["tasks"])}


def shipped_rows(pattern: str = "*") -> list[dict[str, Any]]:
    """Rows of the shipped models matching the fnmatch ``pattern``, at the default sizes
    (``in_channels=1, out_channels=2``), sorted by name."""
    return [row(n, e, e["parameters"]) for n, e in sorted(shipped().items()) if fnmatch.fnmatch(n, pattern)]
