"""The ``root`` source: any TTree through a YAML mapping (see :mod:`.root_mapping`).

Reading is bounded: each shard task covers an entry range of one file, read with
``step_size`` entries at a time, so memory does not grow with the file size. Several files
and globs are accepted; with more than one file, event ids are offset by
``file_index * 2**32`` to keep them unique (``file_id_offset: false`` disables this).

Shipped mappings: ``configs/sources/larcv-particles.yaml`` (larcv LArTPC images -> 2D pixel
hits, particle PDG as label) and ``configs/sources/geant4-strips.yaml`` (a flat hit tree
grouped by ``Event``). ``--set key=value`` overrides mapping keys (``--set step_size=500``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.config.load import deep_merge, load_yaml
from hepgraph.errors import ConfigError, DataError
from hepgraph.events.table import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources._common import close_matches, expand_inputs
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.sources.root_build import build_chunk, group_flat
from hepgraph.sources.root_mapping import Mapping, parse_mapping

_BOUNDARY_WINDOW = 4096


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def open_root(path: str | Path) -> Any:
    """``uproot.open`` turning unreadable, truncated or non-ROOT files into ``DataError``."""
    import uproot

    try:
        return uproot.open(path)
    except FileNotFoundError:
        raise DataError(f"input file `{path}` does not exist; check --input") from None
    except Exception as err:  # uproot raises many types for garbage input
        raise DataError(f"`{path}` is not a readable ROOT file ({_short(err)}); is it truncated or not ROOT at all?") from None


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
        raise DataError(f"cannot read tree `{name}` of `{path}` ({_short(err)}); is the file truncated?") from None
    if not isinstance(obj, uproot.behaviors.TTree.TTree):
        raise DataError(f"`{name}` in `{path}` is a {type(obj).__name__}, not a TTree; trees: {', '.join(trees)}")
    return obj


def _branches(tree: Any) -> list[str]:
    return list(tree.keys(recursive=True)) + list(tree.keys(recursive=True, full_paths=False))


@SOURCES.register("root", description="any TTree through a YAML branch mapping")
class RootSource(Source):
    """Events from ROOT TTrees through a mapping.

    Args:
        inputs: ROOT files, directories (``*.root``) or globs.
        mapping: the YAML mapping file (required).
        seed: unused (reading is deterministic); recorded.
        params: overrides of mapping keys (nested dict from ``--set``).
    """

    name = "root"

    def __init__(self, inputs: Sequence[str | Path] | None = None, mapping: str | Path | None = None,
                 seed: int = 0, params: dict[str, Any] | None = None) -> None:
        if mapping is None:
            raise ConfigError("source `root` needs --mapping YAML (examples in configs/sources/)")
        data = deep_merge(load_yaml(mapping), params or {})
        self.mapping_path = str(mapping)
        self.mapping: Mapping = parse_mapping(data, mapping)
        self.files = [str(p) for p in expand_inputs(inputs, source="root", patterns=("*.root",))]
        self.seed = seed
        self._where: dict[str, str] | None = None  # expression key -> tree name

    def config(self) -> dict[str, Any]:
        """Files, mapping path and the full mapping (after overrides)."""
        return {"inputs": self.files, "mapping_path": self.mapping_path, "mapping": self.mapping.raw}

    def info(self) -> SourceInfo:
        """Class names, task, units, features and extra from the mapping."""
        m = self.mapping
        return SourceInfo(label_names=m.label_names, semantic_names=m.semantic_names,
                          default_task=m.default_task, units=m.units, default_features=m.default_features,
                          extra=m.extra)

    @property
    def offset_ids(self) -> bool:
        """Whether event ids get ``file_index << 32`` added."""
        off = self.mapping.file_id_offset
        return len(self.files) > 1 if off is None else bool(off)

    # ---------------------------------------------------------------------- validation
    def _locate(self, path: str) -> tuple[int, dict[str, str]]:
        """Open a file, check trees and expressions; return (entries, expr key -> tree)."""
        import uproot

        m = self.mapping
        fh = open_root(path)
        trees = {name: get_tree(fh, name, path) for name in [m.tree, *m.friends]}
        n = int(trees[m.tree].num_entries)
        for f in m.friends:
            if trees[f].num_entries != n:
                raise DataError(f"friend tree `{f}` of `{path}` has {trees[f].num_entries} entries but "
                                f"`{m.tree}` has {n}; friends must be entry-aligned")
        exprs = m.expressions()
        if m.selection:
            exprs["selection"] = m.selection
        where: dict[str, str] = {}
        for key, expr in exprs.items():
            for name, tree in trees.items():
                if key == "selection" and name != m.tree:
                    break
                if expr in tree:
                    where[key] = name
                    break
                try:
                    tree.arrays([expr], entry_stop=min(1, n), library="ak")
                except uproot.KeyInFileError:
                    continue
                except Exception as err:
                    raise ConfigError(f"mapping expression `{expr}` ({key}) fails on `{path}`: {_short(err)}") from None
                where[key] = name
                break
            if key not in where:
                cands = [b for t in trees.values() for b in _branches(t)]
                scope = m.tree if key == "selection" else ", ".join(trees)
                raise DataError(
                    f"mapping {key} `{expr}`: no such branch in tree(s) {scope} of `{path}`"
                    f"{close_matches(expr, cands)}"
                )
        if m.join:
            jt = get_tree(fh, m.join["tree"], path)
            for expr in [m.join["key"], *m.join["event"].values()]:
                if str(expr) not in jt:
                    try:
                        jt.arrays([str(expr)], entry_stop=1, library="ak")
                    except uproot.KeyInFileError:
                        raise DataError(f"mapping join `{expr}`: no such branch in tree `{m.join['tree']}` of "
                                        f"`{path}`{close_matches(str(expr), _branches(jt))}") from None
        return n, where

    def plan(self, max_events: int | None = None) -> list[dict[str, Any]]:
        """One task per (file, entry range of ``entries_per_shard``)."""
        m = self.mapping
        tasks: list[dict[str, Any]] = []
        left = max_events
        for fi, path in enumerate(self.files):
            if left is not None and left <= 0:
                break
            n, where = self._locate(path)
            self._where = where
            stop = n
            if left is not None:
                if m.layout == "flat":
                    stop, found = self._flat_stop(path, left)
                    left -= found
                else:
                    stop = min(n, left)
                    left -= stop
            for a in range(0, stop, m.entries_per_shard):
                tasks.append({"file_index": fi, "path": path, "start": a,
                              "stop": min(a + m.entries_per_shard, stop), "where": where})
        return tasks

    def _flat_stop(self, path: str, max_events: int) -> tuple[int, int]:
        """Entry where the ``max_events``-th group of a flat tree ends (bounded scan)."""
        tree = get_tree(open_root(path), self.mapping.tree, path)
        n, prev, found = int(tree.num_entries), None, 0
        for a in range(0, n, self.mapping.step_size):
            g = self._read_group(tree, a, min(a + self.mapping.step_size, n))
            new = np.flatnonzero(np.diff(g, prepend=g[:1] if prev is None else [prev]) != 0)
            if prev is None and len(g):
                new = np.concatenate([[0], new[new > 0]])
            if found + len(new) > max_events:
                return a + int(new[max_events - found]), max_events
            found += len(new)
            prev = g[-1] if len(g) else prev
        return n, found

    def _read_group(self, tree: Any, a: int, b: int) -> np.ndarray:
        arr = tree.arrays([self.mapping.group_by], entry_start=a, entry_stop=b, library="np", how=tuple)[0]
        return np.asarray(arr).astype(np.int64)

    def _boundary(self, tree: Any, pos: int) -> int:
        """First entry >= pos that starts a new group (flat layout)."""
        n = int(tree.num_entries)
        if pos <= 0 or pos >= n:
            return min(max(pos, 0), n)
        prev = self._read_group(tree, pos - 1, pos)[0]
        while pos < n:
            g = self._read_group(tree, pos, min(pos + _BOUNDARY_WINDOW, n))
            diff = np.flatnonzero(g != prev)
            if diff.size:
                return pos + int(diff[0])
            pos += len(g)
        return n

    # ---------------------------------------------------------------------- reading
    def _read_range(self, trees: dict[str, Any], where: dict[str, str], a: int, b: int, path: str) -> dict[str, Any]:
        exprs = dict(self.mapping.expressions())
        if self.mapping.selection:
            exprs["selection"] = self.mapping.selection
        out: dict[str, Any] = {}
        for name, tree in trees.items():
            mine = {k: e for k, e in exprs.items() if where.get(k) == name}
            if not mine:
                continue
            uniq = sorted(set(mine.values()))
            try:
                got = tree.arrays(uniq, entry_start=a, entry_stop=b, library="ak", how=dict)
            except Exception as err:
                raise DataError(f"reading entries {a}-{b} of `{path}` failed ({_short(err)}); "
                                "is the file truncated or corrupt?") from None
            for k, e in mine.items():
                out[k] = got[e]
        return out

    def read(self, task: dict[str, Any]) -> Iterator[pa.Table]:
        """Yield chunks of at most ``step_size`` entries of one file range."""
        m = self.mapping
        path = task["path"]
        fh = open_root(path)
        trees = {name: get_tree(fh, name, path) for name in [m.tree, *m.friends]}
        join = self._read_join(fh, path) if m.join else None
        offset = (task["file_index"] << 32) if self.offset_ids else 0
        start, stop = task["start"], task["stop"]
        if m.layout == "flat":
            start, stop = self._boundary(trees[m.tree], start), self._boundary(trees[m.tree], stop)
            yield from group_flat(self, trees, task["where"], start, stop, offset, join, path)
            return
        for a in range(start, stop, m.step_size):
            b = min(a + m.step_size, stop)
            arrays = self._read_range(trees, task["where"], a, b, path)
            table = build_chunk(m, arrays, np.arange(a, b, dtype=np.int64), offset, join)
            if table is not None:
                yield table

    def _read_join(self, fh: Any, path: str) -> dict[str, np.ndarray]:
        """The per-event join tree of a file: key column + event columns (numpy)."""
        j = self.mapping.join
        tree = get_tree(fh, j["tree"], path)
        exprs = [str(j["key"]), *[str(e) for e in j["event"].values()]]
        got = tree.arrays(sorted(set(exprs)), library="np", how=dict)
        out = {"__on__": np.asarray(got[str(j["key"])]).astype(np.int64)}
        for k, e in j["event"].items():
            out[k] = np.asarray(got[str(e)])
        return out


__all__ = ["RootSource", "open_root", "get_tree", "table_from_flat"]
