"""Per-channel geometry: join a table ``id -> x, y, z (, direction, ...)`` onto the hits.

Detectors read out by channel (PMTs, SiPMs, pads, straws) store a channel id per hit and the
positions in a separate table. The mapping's ``geometry`` section names that table and how
to join it::

    geometry:
      file: pmt_table.csv          # CSV with a header row, or a ROOT file (then `tree:`)
      tree: pmts                   # ROOT only: the TTree holding one row per channel
      id: "dom_id * 100 + channel" # expression over the table's columns -> integer id
      hit_column: hit_pmt          # the mapped hit column holding the same id
      columns: {x: pos_x, y: pos_y, z: pos_z, dir_x: dx, dir_y: dy, dir_z: dz}
      missing: error               # or `drop`: hits whose id is not in the table are dropped

A relative ``file`` is resolved against the mapping file's directory. ``scale`` applies to
the geometry columns like to any other column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.errors import DataError
from hepgraph.sources.expr import compile_expr, evaluate


@dataclass
class ChannelTable:
    """Channel ids (sorted, unique) and the columns to attach, in the same order."""

    ids: np.ndarray
    columns: dict[str, np.ndarray]
    path: str

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows of ``keys`` in the table.

        Returns:
            ``(found, columns)``: a (N,) bool mask of keys in the table, and each column
            at the found keys (length ``found.sum()``).
        """
        keys = np.asarray(keys).astype(np.int64)
        if not len(self.ids):
            return np.zeros(len(keys), bool), {k: v[:0] for k, v in self.columns.items()}
        pos = np.searchsorted(self.ids, keys)
        pos_c = np.minimum(pos, len(self.ids) - 1)
        found = (pos < len(self.ids)) & (self.ids[pos_c] == keys)
        rows = pos_c[found]
        return found, {k: v[rows] for k, v in self.columns.items()}

    def unknown_error(self, keys: np.ndarray, on: str) -> DataError:
        """The one-line error for ids that are not in the table (names a few)."""
        bad = np.unique(np.asarray(keys).astype(np.int64))
        few = ", ".join(str(int(b)) for b in bad[:5]) + (", ..." if len(bad) > 5 else "")
        return DataError(f"{len(bad)} channel id(s) of hit column `{on}` are not in geometry table `{self.path}` "
                         f"({few}); fix the table or the id expressions, or set geometry.missing: drop")


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    import pyarrow.csv as pcsv

    try:
        t = pcsv.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"geometry file `{path}` does not exist; check geometry.file (relative paths "
                        "start at the mapping file's directory)") from None
    except Exception as err:
        raise DataError(f"geometry file `{path}` is not a readable CSV table ({type(err).__name__}: "
                        f"{str(err).splitlines()[0]})") from None
    return {n: t.column(n).to_numpy() for n in t.column_names}


def _read_root(path: Path, tree: str | None) -> dict[str, np.ndarray]:
    from hepgraph.sources.root import get_tree, open_root

    if not tree:
        raise DataError(f"geometry file `{path}` is a ROOT file: name its TTree with geometry.tree")
    t = get_tree(open_root(path), tree, path)
    return {k: np.asarray(v) for k, v in t.arrays(library="np", how=dict).items()
            if np.asarray(v).dtype != object}


def load_channels(spec: dict[str, Any], base_dir: str | Path = ".") -> ChannelTable:
    """Read the table of a mapping's ``geometry`` section.

    Raises:
        DataError: a missing or unreadable file, an unknown column, fractional ids, one id
            twice with different values, a NaN or infinite value.
    """
    path = Path(spec["file"])
    if not path.is_absolute():
        path = Path(base_dir) / path
    cols = _read_root(path, spec.get("tree")) if path.suffix == ".root" else _read_csv(path)
    where = f"geometry `{path}`"
    n = len(next(iter(cols.values()))) if cols else 0
    ids = np.broadcast_to(np.asarray(evaluate(compile_expr(spec["id"], cols, f"{where} id"), cols)), (n,))
    if ids.dtype.kind == "f" and not np.all(ids == np.floor(ids)):
        raise DataError(f"{where}: id `{spec['id']}` gives fractional values; ids must be integers")
    ids = ids.astype(np.int64)
    out = {k: np.broadcast_to(np.asarray(evaluate(compile_expr(e, cols, f"{where} columns.{k}"), cols)), (n,))
           for k, e in spec["columns"].items()}
    order = np.argsort(ids, kind="stable")
    ids, out = ids[order], {k: v[order] for k, v in out.items()}
    dup = np.flatnonzero(np.diff(ids) == 0)
    if dup.size:
        if not all(np.array_equal(v[dup], v[dup + 1]) for v in out.values()):
            raise DataError(f"{where}: channel id {int(ids[dup[0]])} appears twice with different values")
        keep = np.concatenate([[True], np.diff(ids) != 0])
        ids, out = ids[keep], {k: v[keep] for k, v in out.items()}
    for k, v in out.items():  # else the hits of those channels fail later, far from the table
        bad = ~np.isfinite(v) if v.dtype.kind == "f" else np.zeros(v.shape, bool)
        if bad.any():
            raise DataError(f"{where}: column `{k}` (`{spec['columns'][k]}`) is NaN or infinite for "
                            f"{int(bad.sum())} channel id(s) ({', '.join(str(int(i)) for i in ids[bad][:5])}); "
                            "give every channel finite values, or remove those rows")
    return ChannelTable(ids, out, str(path))
