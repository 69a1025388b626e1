"""Flat tables for analysts: one writer for ROOT TTrees, Parquet and CSV, chosen by suffix.

``predict --out`` and ``cluster --out`` write through :func:`write_table`: one row (one
TTree entry) per event, hit or edge, with identifier-safe column names (``prob_e-`` becomes
``prob_e_minus``) so that ``tree->Draw("prob_e_minus")``, pandas and awkward all read them,
and key columns (``event_id``, ``hit_id``) to join with the original data. Class names go
into a second TTree ``classes`` (``index``, ``name``) of ROOT files and into the Parquet
schema metadata (``classes``, JSON). Writing is atomic (:mod:`hepgraph.atomic`).

>>> write_table("pred.root", {"event_id": ids, "prob_e-": p}, tree="predictions")  # doctest: +SKIP
PosixPath('pred.root')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hepgraph.atomic import atomic_file
from hepgraph.errors import ConfigError, DataError, MissingDependencyError

#: Suffix -> format.
FORMATS = {".root": "root", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}

_SYMBOLS = [(">=", "_ge_"), ("<=", "_le_"), ("!=", "_ne_"), ("==", "_eq_"), (">", "_gt_"), ("<", "_lt_"),
            ("=", "_eq_"), ("+", "_plus_"), ("-", "_minus_"), ("*", "_star_"), ("/", "_over_"), ("%", "_pct_")]


def safe_name(name: str) -> str:
    """An identifier (letters, digits, ``_``; not starting with a digit) for a column name.

    ``prob_e-`` -> ``prob_e_minus``, ``prob_>=3`` -> ``prob_ge_3``, ``prob_pi+`` -> ``prob_pi_plus``.
    """
    s = str(name)
    for sym, word in _SYMBOLS:
        s = s.replace(sym, word)
    s = re.sub(r"[^A-Za-z0-9_]", "_", s)
    s = re.sub(r"_+", "_", s).strip("_") or "column"
    return f"_{s}" if s[0].isdigit() else s


def safe_names(names: Sequence[str]) -> dict[str, str]:
    """``{name: safe name}`` for all names, made unique with ``_2``, ``_3``... suffixes."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        s = base = safe_name(n)
        k = 2
        while s in used:
            s, k = f"{base}_{k}", k + 1
        used.add(s)
        out[n] = s
    return out


def table_format(path: str | Path) -> str:
    """``root``, ``parquet`` or ``csv`` from the file suffix.

    Raises:
        ConfigError: another suffix (names the allowed ones).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"output `{path}` must end in {', '.join(FORMATS)} (got `{suffix or 'no suffix'}`)")
    return FORMATS[suffix]


def write_table(path: str | Path, columns: Mapping[str, np.ndarray], *, overwrite: bool = False,
                tree: str = "table", classes: Sequence[str] | None = None) -> Path:
    """Write equal-length 1-D columns as a ROOT TTree, a Parquet or a CSV file (by suffix).

    Args:
        path: ``.root``, ``.parquet`` (``.pq``) or ``.csv`` file.
        columns: name -> (N,) numbers or booleans; names are made identifier-safe.
        overwrite: replace an existing file (otherwise it is refused and left untouched).
        tree: TTree name in ROOT files.
        classes: class names of a class-index column (``classes`` tree / Parquet metadata).

    Returns:
        The written file.

    Raises:
        ConfigError: unknown suffix. OutputExistsError: ``path`` exists without ``overwrite``.
        DataError: columns of different lengths or not 1-D.
    """
    fmt = table_format(path)
    names = safe_names(list(columns))
    cols = {names[k]: np.asarray(v) for k, v in columns.items()}
    lengths = {k: v.shape for k, v in cols.items()}
    if any(len(s) != 1 for s in lengths.values()) or len({s[0] for s in lengths.values()}) > 1:
        raise DataError(f"table columns must be 1-D and of one length; got shapes {lengths}")
    with atomic_file(path, overwrite=overwrite) as tmp:
        if fmt == "root":
            _write_root(tmp, cols, tree, classes)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(_arrow(cols, classes), tmp)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(_arrow(cols, None), str(tmp))
    return Path(path)


def _arrow(cols: dict[str, np.ndarray], classes: Sequence[str] | None):  # noqa: ANN202 - pyarrow lazily
    import pyarrow as pa

    table = pa.table(cols)
    if classes is not None:
        table = table.replace_schema_metadata({"classes": json.dumps(list(map(str, classes)))})
    return table


def _write_root(path: Path, cols: dict[str, np.ndarray], tree: str, classes: Sequence[str] | None) -> None:
    try:
        import awkward as ak
        import uproot
    except ImportError as err:  # pragma: no cover - both are dependencies
        raise MissingDependencyError("ROOT output needs uproot and awkward: pip install uproot awkward") from err
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tree):
        raise ConfigError(f"tree name `{tree}` must be an identifier (letters, digits, _)")
    with uproot.recreate(path) as f:
        t = f.mktree(tree, {k: v.dtype for k, v in cols.items()})
        if cols and len(next(iter(cols.values()))):
            t.extend(cols)
        if classes is not None:
            c = f.mktree("classes" if tree != "classes" else "class_names", {"index": np.int32, "name": "string"})
            if len(classes):
                c.extend({"index": np.arange(len(classes), dtype=np.int32), "name": ak.Array([str(n) for n in classes])})
