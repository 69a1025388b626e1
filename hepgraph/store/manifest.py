"""The dataset manifest: what a dataset directory holds, readable without hepgraph.

The manifest is the JSON file ``_manifest.json`` next to the Parquet shards. The leading
underscore is deliberate: ``pyarrow.parquet.read_table(dir)`` (and pandas) read every file
of a directory whose name does not start with ``.`` or ``_`` as Parquet and fail on a
``manifest.json``; ``awkward.from_parquet(dir)`` reads only ``*.parquet``. With the
underscore, both read the dataset directory directly. A plain ``manifest.json`` (older or
hand-made datasets) is still accepted when reading.

Keys (see docs and ``contracts``): ``schema_version``, ``hepgraph_version``, ``created``,
``source: {name, config}``, ``seed``, ``max_events``, ``columns: {name: {kind, dtype, unit}}``,
``label_names``, ``semantic_names``, ``default_task``, ``default_features``, ``extra``,
``counts: {events, hits, particles}``, ``stats`` (hits per event, label counts),
``shards: [{path, events, hits, row_groups, bytes, sha256}]``, ``splits``, ``row_groups``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError
from hepgraph.events.schema import SCHEMA_VERSION, kind_of, unit_of

MANIFEST_NAME = "_manifest.json"

#: Also accepted when reading.
LEGACY_MANIFEST_NAMES = ("manifest.json",)

#: Keys every manifest has (checked when a dataset is opened).
REQUIRED_KEYS = ("schema_version", "columns", "counts", "shards")


def sha256_file(path: str | Path, block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in blocks of ``block`` bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def _dtype_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        t = t.value_type
    try:
        return np.dtype(t.to_pandas_dtype()).name
    except (NotImplementedError, TypeError):
        return str(t)


def describe_columns(
    schema: pa.Schema, units: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """``{name: {kind, dtype, unit}}`` for every column of a shard schema.

    Args:
        schema: the Arrow schema of the shards.
        units: per-column unit overrides from ``SourceInfo.units`` (win over the schema).
    """
    units = units or {}
    out: dict[str, dict[str, str]] = {}
    for f in schema:
        out[f.name] = {
            "kind": kind_of(f.name),
            "dtype": _dtype_name(f.type),
            "unit": units.get(f.name, unit_of(f.name)),
        }
    return out


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def write_manifest(directory: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``_manifest.json`` (atomically within ``directory``)."""
    path = Path(directory) / MANIFEST_NAME
    tmp = path.with_name(f".{MANIFEST_NAME}.{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def find_manifest(directory: str | Path) -> Path | None:
    """Path of the manifest file of a dataset directory, or None."""
    for name in (MANIFEST_NAME, *LEGACY_MANIFEST_NAMES):
        p = Path(directory) / name
        if p.is_file():
            return p
    return None


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Read and sanity-check ``_manifest.json`` of a dataset directory.

    Raises:
        DataError: the directory or its manifest is missing, unreadable or incomplete.
    """
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise DataError(f"`{d}` is a file, not a dataset directory; give the directory that "
                        "`hepgraph build-dataset` wrote")
    if not d.is_dir():
        raise DataError(
            f"dataset directory `{d}` does not exist; build it with `hepgraph build-dataset`"
        )
    path = find_manifest(d)
    if path is None:
        raise DataError(
            f"`{d}` is not a hepgraph dataset (no {MANIFEST_NAME}); "
            "build it with `hepgraph build-dataset`"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"`{path}` is not valid JSON ({err}); rebuild the dataset") from None
    if not isinstance(manifest, dict):
        raise DataError(f"`{path}` is not a manifest (a JSON object is expected); rebuild the dataset")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise DataError(f"`{path}` lacks keys {', '.join(missing)}; rebuild the dataset")
    _check_types(path, manifest)
    if manifest["schema_version"] > SCHEMA_VERSION:
        raise DataError(
            f"`{d}` has schema version {manifest['schema_version']} but this hepgraph reads "
            f"up to {SCHEMA_VERSION}; upgrade hepgraph"
        )
    return manifest


def _check_types(path: Path, m: dict[str, Any]) -> None:
    """Raise :class:`DataError` when a required manifest key has the wrong type."""
    def bad(what: str) -> DataError:
        return DataError(f"`{path}`: {what}; the manifest is damaged or hand-edited, rebuild the dataset")

    if not isinstance(m["schema_version"], int) or isinstance(m["schema_version"], bool):
        raise bad(f"schema_version `{m['schema_version']}` is not an integer")
    if not isinstance(m["columns"], dict):
        raise bad("`columns` is not a mapping")
    if not isinstance(m["counts"], dict) or not isinstance(m["counts"].get("events"), int):
        raise bad("`counts.events` is not an integer")
    shards = m["shards"]
    if not isinstance(shards, list) or not all(isinstance(s, dict) and isinstance(s.get("path"), str)
                                               for s in shards):
        raise bad("`shards` is not a list of {path, ...} entries")
    extra = m.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise bad("`extra` is not a mapping")
    field = (extra or {}).get("field_T")  # read as a number by the clusterers and generators
    if field is not None and (isinstance(field, bool) or not isinstance(field, (int, float))
                              or not math.isfinite(field)):
        raise bad(f"`extra.field_T` `{field}` is not a finite number (tesla) or null")
