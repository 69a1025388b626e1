"""The model listing: registry metadata plus parameter counts at the default sizes.

Counting parameters means building each model (on the ``meta`` device, no memory) and, for
graph models, importing PyTorch Geometric; even the registry's metadata needs the torch
import (seconds). The rows of the built-in models at ``in_channels=1, out_channels=2`` are
therefore kept in ``catalogue.json`` beside this module (metadata, parameter count and a key
of the model's class and registered defaults); :mod:`hepgraph.model_list` reads it without
importing the zoo, and :func:`model_rows` here builds rows from the live registry.
``tests/models/test_catalogue.py`` checks every entry against the registry and a fresh build.
Regenerate after changing a model::

    python -m hepgraph.models.catalogue
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hepgraph.model_list import CATALOGUE, row, shipped


def model_key(name: str) -> str:
    """What a catalogue entry is valid for: the class and the registered defaults of ``name``."""
    from hepgraph.models.factory import model_info

    meta = model_info(name)
    cls = meta.get("cls")
    where = f"{cls.__module__}.{cls.__qualname__}" if cls is not None else name
    return f"{where}|{json.dumps(meta.get('defaults', {}), sort_keys=True, default=str)}"


def count_parameters(name: str, in_channels: int = 1, out_channels: int = 2) -> int:
    """Parameters of ``create_model(name, ...)`` at its default sizes, built on the meta device."""
    import torch

    from hepgraph.models.factory import create_model, model_info

    with torch.device("meta"):
        model = create_model(name, in_channels=in_channels, level=list(model_info(name)["levels"])[0],
                             out_channels=out_channels)
    return int(sum(p.numel() for p in model.parameters()))


def model_rows(pattern: str = "*", in_channels: int = 1, out_channels: int = 2) -> list[dict[str, Any]]:
    """One row per registered model: name, family, representation, parameters (what
    ``hepgraph train`` builds with the default sizes), levels and the tasks they serve.

    Args:
        pattern: fnmatch filter on names.
        in_channels: input features per hit used for the count.
        out_channels: head outputs used for the count.
    """
    from hepgraph.models import list_models

    cached = shipped() if (in_channels, out_channels) == (1, 2) else {}
    rows = []
    for name in list_models(pattern):
        entry = catalogue_entry(name)
        hit = cached.get(name)
        n = hit["parameters"] if hit and hit.get("key") == entry["key"] else count_parameters(
            name, in_channels, out_channels)
        rows.append(row(name, entry, n))
    return rows


def catalogue_entry(name: str) -> dict[str, Any]:
    """The registry's metadata of ``name`` as the catalogue keeps it (without the count)."""
    import hepgraph.tasks  # noqa: F401  (fills TASKS)
    from hepgraph.models.factory import model_info
    from hepgraph.registry import TASKS

    meta = model_info(name)
    levels = list(meta["levels"])
    return {"key": model_key(name), "family": meta["family"], "representation": meta["representation"],
            "levels": levels,
            "tasks": [t for lvl in levels for t in TASKS.names() if TASKS.meta(t).get("level") == lvl]}


def write_catalogue(path: Path = CATALOGUE) -> Path:
    """Count every registered model afresh and write the catalogue (sorted, one per line)."""
    from hepgraph.models import list_models

    entries = {n: {**catalogue_entry(n), "parameters": count_parameters(n)} for n in list_models()}
    path.write_text("{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in entries.items())
                    + "\n}\n")
    return path


if __name__ == "__main__":
    print(write_catalogue())
