"""The ``hdf5`` source: per-event point clouds in HDF5 files through a YAML mapping.

The mapping's ``arrays`` section says how each named array is split into events; the
``hits``/``particles``/``event``/``select``/``geometry`` sections are the same as for the
``root`` source (reference: ``docs/mapping.md``). Four layouts cover the common files:

- one row per event, variable length (``vlen``), flattened per event and cut into rows of
  ``width`` values: the PILArNet-M LArTPC files (``point`` (N, 8), ``cluster`` (M, 6),
  ``cluster_extra`` (M, 5));
- flat rows plus a per-event ``counts`` dataset, or ``offsets`` (n + 1 boundaries, CSR /
  PyG ``ptr`` style);
- flat rows plus an ``index``: a dataset of region references, one per event (a plain
  reference dataset, or a field of a compound one): the larcv/SPINE HDF5 outputs, whose
  ``events`` dataset refers to ``input_data``, ``particles``, ... (``field`` defaults to
  the dataset name);
- one fixed-shape row per event (event scalars or vectors).

Compound (struct) rows become records whose fields expressions read as ``particles.pdg_code``;
variable-length fields and strings of compound rows are skipped.

Shipped mapping: ``pilarnet-m`` (``hepgraph/configs/sources/pilarnet-m.yaml``). h5py is an
optional dependency (``pip install hepgraph[hdf5]``), imported when the source is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError, MissingDependencyError, setting
from hepgraph.registry import SOURCES
from hepgraph.sources._common import close_matches, first_non_number
from hepgraph.sources.assemble import assemble, compile_mapping
from hepgraph.sources.channels import load_channels
from hepgraph.sources.mapped import MappedSource


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as err:
        raise MissingDependencyError("source `hdf5` needs h5py: pip install hepgraph[hdf5]") from err
    return h5py


def open_hdf5(path: str | Path) -> Any:
    """``h5py.File(path, "r")``, turning missing or non-HDF5 files into ``DataError``."""
    h5py = _h5py()
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(f"input file `{path}` does not exist; check {setting('input')}") from None
    except OSError as err:
        raise DataError(f"`{path}` is not a readable HDF5 file ({str(err).splitlines()[0]}); is it truncated "
                        "or not HDF5 at all?") from None


def _datasets(f: Any) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if hasattr(o, "dtype") else None)
    return names


def _records(arr: np.ndarray) -> Any:
    """A numpy array (structured or not) as an awkward array; object/vlen fields dropped."""
    import awkward as ak

    if arr.dtype.names:
        from numpy.lib import recfunctions

        keep = [n for n in arr.dtype.names if arr.dtype[n].kind != "O"]
        arr = recfunctions.repack_fields(arr[keep])
    return ak.from_numpy(arr)


class ArrayReader:
    """Reads entries ``[a, b)`` of one mapped array of an open file as lists per event."""

    def __init__(self, f: Any, name: str, spec: dict[str, Any], path: str) -> None:
        h5py = _h5py()
        self.name, self.spec, self.path = name, spec, path
        self.ds = self._get(f, spec["dataset"])
        self.width = int(spec["width"]) if spec.get("width") else None
        # Variable-length strings are vlen too, but one string per row, not a list of numbers.
        self.text = h5py.check_string_dtype(self.ds.dtype) is not None or self.ds.dtype.kind in "SU"
        self.vlen = not self.text and h5py.check_vlen_dtype(self.ds.dtype) is not None
        self.offsets: np.ndarray | None = None
        self.refs: Any = None
        if "counts" in spec:
            counts = np.asarray(self._get(f, spec["counts"])[()]).astype(np.int64).reshape(-1)
            self.offsets = np.concatenate([[0], np.cumsum(counts)])
        elif "offsets" in spec:
            self.offsets = np.asarray(self._get(f, spec["offsets"])[()]).astype(np.int64).reshape(-1)
        elif "index" in spec:
            idx = self._get(f, spec["index"])
            fld = spec.get("field") or spec["dataset"].rsplit("/", 1)[-1]
            if idx.dtype.names and fld not in idx.dtype.names:
                raise DataError(f"arrays.{name}: `{spec['index']}` of `{path}` has no field `{fld}`"
                                f"{close_matches(fld, idx.dtype.names)}; fields: {', '.join(idx.dtype.names)}")
            self.refs = (idx, fld if idx.dtype.names else None)
        if self.offsets is not None:
            if len(self.offsets) < 1 or self.offsets[-1] > len(self.ds) or (np.diff(self.offsets) < 0).any():
                raise DataError(f"arrays.{name}: the counts/offsets of `{path}` do not fit `{spec['dataset']}` "
                                f"({len(self.ds)} rows); offsets must be n+1 increasing boundaries")

    def _get(self, f: Any, key: str) -> Any:
        try:
            return f[key]
        except KeyError:
            names = _datasets(f)
            raise DataError(f"arrays.{self.name}: dataset `{key}` is not in `{self.path}`{close_matches(key, names)}; "
                            f"datasets: {', '.join(names[:20])}") from None

    def __len__(self) -> int:
        if self.offsets is not None:
            return len(self.offsets) - 1
        if self.refs is not None:
            return len(self.refs[0])
        return len(self.ds)

    def _rows(self, flat: np.ndarray, counts: np.ndarray) -> Any:
        import awkward as ak

        if self.width and flat.ndim == 1:
            if (counts % self.width).any():
                i = int(np.flatnonzero(counts % self.width)[0])
                raise DataError(f"arrays.{self.name}: an event of `{self.path}` holds {counts[i]} values, not a "
                                f"multiple of width {self.width}")
            flat, counts = flat.reshape(-1, self.width), counts // self.width
        return ak.unflatten(_records(flat), counts)

    def _numbers(self, arr: np.ndarray, first: int | None) -> np.ndarray:
        """Text values (numbers written as strings) as float64; the first that is not a number
        raises :class:`DataError` (``first``: the dataset row of ``arr[0]``, None if unknown)."""
        if not self.text:
            return arr
        try:
            return arr.astype(np.float64)
        except (ValueError, TypeError):
            pass
        bad = first_non_number(v if isinstance(v, bytes) else str(v) for v in arr.reshape(-1))
        if bad is None:
            return arr
        per_row = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
        row = "" if first is None else f", row {first + bad[0] // per_row}"
        raise DataError(
            f"arrays.{self.name}: dataset `{self.spec['dataset']}` of `{self.path}` holds text where a "
            f"number is needed (`{bad[1]}`{row}); clean the dataset in the file, or map the columns "
            f"that read `{self.name}` to a dataset of numbers (or to a constant) in the mapping")

    def read(self, a: int, b: int) -> Any:
        """Entries ``[a, b)``: an awkward array with one list (or one row) per event."""
        if self.offsets is not None:
            lo, hi = int(self.offsets[a]), int(self.offsets[b])
            return self._rows(self._numbers(np.asarray(self.ds[lo:hi]), lo), np.diff(self.offsets[a : b + 1]))
        if self.refs is not None:
            return self._read_refs(a, b)
        if self.text:
            return _records(self._numbers(np.asarray(self.ds[a:b]), a))
        rows = self.ds[a:b]
        if self.vlen:
            counts = np.fromiter((len(r) for r in rows), np.int64, count=len(rows))
            base = _h5py().check_vlen_dtype(self.ds.dtype)
            flat = np.concatenate(list(rows)) if len(rows) else np.zeros(0, base)
            return self._rows(flat, counts)
        return _records(np.asarray(rows))

    def _read_refs(self, a: int, b: int) -> Any:
        from h5py import h5r

        idx, fld = self.refs
        refs = idx[a:b][fld] if fld else idx[a:b]
        bounds = []
        for r in refs:
            if not r:
                bounds.append((0, 0))
                continue
            sid = h5r.get_region(r, self.ds.id)
            if sid.get_select_npoints() == 0:
                bounds.append((0, 0))
                continue
            lo, hi = sid.get_select_bounds()
            bounds.append((int(lo[0]), int(hi[0]) + 1))
        counts = np.array([e - s for s, e in bounds], np.int64)
        live = [(s, e) for s, e in bounds if e > s]
        if not live:
            return self._rows(np.asarray(self.ds[0:0]), counts)
        s0, e0 = min(s for s, _ in live), max(e for _, e in live)
        block = np.asarray(self.ds[s0:e0])
        flat = np.concatenate([block[s - s0 : e - s0] for s, e in live])
        return self._rows(self._numbers(flat, None), counts)


@SOURCES.register("hdf5", description="per-event point clouds in HDF5 (PILArNet-M, larcv/SPINE) via a mapping")
class Hdf5Source(MappedSource):
    """Events from HDF5 files through a mapping (see the module docstring).

    Args:
        inputs: HDF5 files, directories (``*.h5``, ``*.hdf5``) or globs.
        mapping: the YAML mapping file (required).
        seed: unused (reading is deterministic); recorded.
        params: overrides of mapping keys (nested dict from ``--set``).
    """

    name = "hdf5"
    patterns = ("*.h5", "*.hdf5")
    example = "pilarnet-m"

    def _open(self, path: str) -> tuple[Any, dict[str, ArrayReader], int, Any]:
        f = open_hdf5(path)
        readers = {k: ArrayReader(f, k, s, path) for k, s in self.mapping.arrays.items()}
        sizes = {k: len(r) for k, r in readers.items()}
        if len(set(sizes.values())) > 1:
            raise DataError(f"the arrays of `{path}` disagree on the number of events: "
                            + ", ".join(f"{k} {v}" for k, v in sizes.items()))
        comp = compile_mapping(self.mapping, list(readers), f"`{path}`")
        return f, readers, next(iter(sizes.values())), comp

    def plan(self, max_events: int | None = None) -> list[dict[str, Any]]:
        """One task per (file, range of ``entries_per_shard`` events).

        Raises:
            DataError: a file, dataset or expression problem; every file has 0 events.
        """
        m = self.mapping
        if m.geometry:
            load_channels(m.geometry, m.base_dir)
        tasks, left, empty = [], max_events, []
        for fi, path in enumerate(self.files):
            if left is not None and left <= 0:
                break
            f, readers, n, comp = self._open(path)
            with f:
                for r in (readers[k] for k in comp.file_names()):
                    r.read(0, min(n, 1))  # fail early on unreadable layouts
            if n == 0:
                empty.append(path)
                continue
            stop = n if left is None else min(n, left)
            left = None if left is None else left - stop
            tasks += [{"file_index": fi, "path": path, "start": a, "stop": min(a + m.entries_per_shard, stop)}
                      for a in range(0, stop, m.entries_per_shard)]
        if empty and not tasks:
            raise DataError(f"the arrays of {len(empty)} input file(s) hold 0 events "
                            f"({', '.join(f'`{p}`' for p in empty[:3])}): nothing to build")
        return tasks

    def read(self, task: dict[str, Any]) -> Iterator[pa.Table]:
        """Yield chunks of at most ``step_size`` events of one file range."""
        m = self.mapping
        f, readers, _, comp = self._open(task["path"])
        geometry = load_channels(m.geometry, m.base_dir) if m.geometry else None
        offset = (task["file_index"] << 32) if self.offset_ids else 0
        names = comp.file_names()
        with f:
            for a in range(task["start"], task["stop"], m.step_size):
                b = min(a + m.step_size, task["stop"])
                got = {k: readers[k].read(a, b) for k in names}
                table = assemble(m, comp, got, np.arange(a, b, dtype=np.int64), offset=offset, geometry=geometry)
                if table is not None:
                    yield table


__all__ = ["Hdf5Source", "ArrayReader", "open_hdf5"]
