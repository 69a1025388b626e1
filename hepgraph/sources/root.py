"""The ``root`` source: any TTree through a YAML mapping (reference: ``docs/mapping.md``).

Reading is bounded: each shard task covers an entry range of one file, read with
``step_size`` entries at a time, so memory does not grow with the file size. Several files
and globs are accepted; with more than one file, event ids are offset by
``file_index * 2**32`` to keep them unique (``file_id_offset: false`` disables this).

Shipped mappings (``hepgraph/configs/sources/``): ``larcv-particles`` (larcv LArTPC images ->
2D pixel hits) and ``geant4-strips`` (a flat hit tree grouped by ``Event``).
``--set key=value`` overrides mapping keys (``--set step_size=500``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import DataError, setting
from hepgraph.registry import SOURCES
from hepgraph.sources._common import close_matches
from hepgraph.sources.assemble import Compiled, assemble, compile_mapping
from hepgraph.sources.channels import load_channels
from hepgraph.sources.mapped import MappedSource
from hepgraph.sources.root_build import (
    Catalog,
    catalog,
    group_flat,
    image_hits,
    join_columns,
    read_branches,
    read_join,
    short_error,
)

_BOUNDARY_WINDOW = 4096


def open_root(path: str | Path) -> Any:
    """``uproot.open`` turning unreadable, truncated or non-ROOT files into ``DataError``."""
    import uproot

    try:
        return uproot.open(path, array_cache=None, object_cache=None)  # ranges are read once: no caches
    except FileNotFoundError:
        raise DataError(f"input file `{path}` does not exist; check {setting('input')}") from None
    except Exception as err:  # uproot raises many types for garbage input
        raise DataError(f"`{path}` is not a readable ROOT file ({short_error(err)}); is it truncated or not "
                        "ROOT at all?") from None


def get_tree(fh: Any, name: str, path: str | Path) -> Any:
    """A TTree by name, or ``DataError`` listing the trees of the file and close matches."""
    import uproot

    trees = sorted({k.split(";")[0] for k, c in fh.classnames().items() if c.startswith(("TTree", "TNtuple"))})
    try:
        obj = fh[name]
    except uproot.KeyInFileError:
        raise DataError(
            f"tree `{name}` is not in `{path}`{close_matches(name, trees)}; trees: {', '.join(trees) or 'none'}"
        ) from None
    except Exception as err:
        raise DataError(f"cannot read tree `{name}` of `{path}` ({short_error(err)}); is the file truncated?") from None
    if not isinstance(obj, uproot.behaviors.TTree.TTree):
        kind = "an RNTuple" if "RNTuple" in type(obj).__name__ else f"a {type(obj).__name__}"
        fix = ("the root source reads TTrees only: write the data as a TTree (uproot: `f.mktree(name, "
               "types).extend(data)`; ROOT: RDataFrame Snapshot to a TTree)") if "RNTuple" in kind else \
            "name a TTree in the mapping's `tree`"
        raise DataError(f"`{name}` in `{path}` is {kind}, not a TTree; {fix}; trees: {', '.join(trees) or 'none'}")
    return obj


@SOURCES.register("root", description="any TTree through a YAML branch mapping")
class RootSource(MappedSource):
    """Events from ROOT TTrees through a mapping.

    Args:
        inputs: ROOT files, directories (``*.root``) or globs.
        mapping: the YAML mapping file (required).
        seed: unused (reading is deterministic); recorded.
        params: overrides of mapping keys (nested dict from ``--set``).
    """

    name = "root"
    patterns = ("*.root",)
    example = "larcv-particles, geant4-strips"

    # ---------------------------------------------------------------------- opening
    def _open(self, path: str) -> tuple[Any, dict[str, Any], Catalog, Compiled]:
        m = self.mapping
        fh = open_root(path)
        trees = {name: get_tree(fh, name, path) for name in [m.tree, *m.friends]}
        cat = catalog(trees)
        return fh, trees, cat, compile_mapping(m, cat, f"`{path}`")

    def _locate(self, path: str) -> int:
        """Open a file, check trees, expressions and branch types; return its entries."""
        m = self.mapping
        fh, trees, cat, comp = self._open(path)
        n = int(trees[m.tree].num_entries)
        for f in m.friends:
            if trees[f].num_entries != n:
                raise DataError(f"friend tree `{f}` of `{path}` has {trees[f].num_entries} entries but "
                                f"`{m.tree}` has {n}; friends must be entry-aligned")
        read_branches(trees, cat, comp.file_names(), 0, min(n, 1), path)  # unreadable types fail here
        if m.join:
            read_join(m, get_tree(fh, m.join["tree"], path), path)
        return n

    def plan(self, max_events: int | None = None) -> list[dict[str, Any]]:
        """One task per (file, entry range of ``entries_per_shard``).

        Raises:
            DataError: every input tree has 0 entries, or a file/tree/branch problem.
        """
        m = self.mapping
        if m.geometry:
            load_channels(m.geometry, m.base_dir)
        tasks: list[dict[str, Any]] = []
        left = max_events
        empty: list[str] = []
        for fi, path in enumerate(self.files):
            if left is not None and left <= 0:
                break
            n = self._locate(path)
            if n == 0:
                empty.append(path)
                continue
            stop = n
            if left is not None:
                if m.layout == "flat":
                    stop, found = self._flat_stop(path, left)
                    left -= found
                else:
                    stop = min(n, left)
                    left -= stop
            for a in range(0, stop, m.entries_per_shard):
                tasks.append({"file_index": fi, "path": path, "start": a, "stop": min(a + m.entries_per_shard, stop)})
        if empty and not tasks:
            names = ", ".join(f"`{p}`" for p in empty[:3]) + (" ..." if len(empty) > 3 else "")
            raise DataError(f"tree `{m.tree}` has 0 entries in {'all ' if len(empty) > 1 else ''}{len(empty)} "
                            f"input file(s) ({names}): nothing to build")
        return tasks

    def _group_values(self, trees: dict[str, Any], cat: Catalog, comp: Compiled, a: int, b: int, path: str) -> np.ndarray:
        from hepgraph.sources.expr import evaluate

        e = comp.exprs["group_by"]
        got = read_branches(trees, cat, list(e.names), a, b, path)
        return np.asarray(evaluate(e, got)).astype(np.int64)

    def _flat_stop(self, path: str, max_events: int) -> tuple[int, int]:
        """Entry where the ``max_events``-th group of a flat tree ends (bounded scan)."""
        _, trees, cat, comp = self._open(path)
        n, prev, found = int(trees[self.mapping.tree].num_entries), None, 0
        for a in range(0, n, self.mapping.step_size):
            g = self._group_values(trees, cat, comp, a, min(a + self.mapping.step_size, n), path)
            new = np.flatnonzero(np.diff(g, prepend=g[:1] if prev is None else [prev]) != 0)
            if prev is None and len(g):
                new = np.concatenate([[0], new[new > 0]])
            if found + len(new) > max_events:
                return a + int(new[max_events - found]), max_events
            found += len(new)
            prev = g[-1] if len(g) else prev
        return n, found

    def _boundary(self, trees: dict[str, Any], cat: Catalog, comp: Compiled, pos: int, path: str) -> int:
        """First entry >= pos that starts a new group (flat layout)."""
        n = int(trees[self.mapping.tree].num_entries)
        if pos <= 0 or pos >= n:
            return min(max(pos, 0), n)
        prev = self._group_values(trees, cat, comp, pos - 1, pos, path)[0]
        while pos < n:
            g = self._group_values(trees, cat, comp, pos, min(pos + _BOUNDARY_WINDOW, n), path)
            diff = np.flatnonzero(g != prev)
            if diff.size:
                return pos + int(diff[0])
            pos += len(g)
        return n

    # ---------------------------------------------------------------------- reading
    def read(self, task: dict[str, Any]) -> Iterator[pa.Table]:
        """Yield chunks of at most ``step_size`` entries of one file range."""
        m = self.mapping
        path = task["path"]
        fh, trees, cat, comp = self._open(path)
        names = comp.file_names()
        geometry = load_channels(m.geometry, m.base_dir) if m.geometry else None
        join = None
        if m.join:
            jdata = read_join(m, get_tree(fh, m.join["tree"], path), path)
            join = lambda raw: join_columns(m, jdata, raw)  # noqa: E731
        offset = (task["file_index"] << 32) if self.offset_ids else 0
        start, stop = task["start"], task["stop"]
        if m.layout == "flat":
            start = self._boundary(trees, cat, comp, start, path)
            stop = self._boundary(trees, cat, comp, stop, path)
            yield from group_flat(m, comp, lambda a, b: read_branches(trees, cat, names, a, b, path),
                                  start, stop, offset, join, geometry)
            return
        for a in range(start, stop, m.step_size):
            b = min(a + m.step_size, stop)
            got = read_branches(trees, cat, names, a, b, path)
            base = None
            if m.image:
                from hepgraph.sources.expr import evaluate

                base = image_hits(m, {k: evaluate(e, got) for k, e in comp.exprs.items() if k.startswith("image:")})
            table = assemble(m, comp, got, np.arange(a, b, dtype=np.int64), offset=offset, geometry=geometry,
                             base_hits=base, join=join)
            if table is not None:
                yield table


__all__ = ["RootSource", "open_root", "get_tree"]
