"""The ``csv`` source: one CSV file (plain or .gz) per event, through a column mapping.

.. code-block:: yaml

    pattern: ["*.csv", "*.csv.gz"]   # files taken from input directories
    delimiter: ","
    event_id: auto        # auto (digits of the file name, else file order) | filename | index | <column>
    hits:                 # column -> CSV column name, or a number (constant)
      x: X
      y: Y
      z: 0.0
      layer: Layer
      track_id: TRK
    event:                # scalars: {column: C, reduce: first|sum|count|nunique|max|min|mean}
      n_tracks: {column: TRK, reduce: nunique, ignore: [-1]}     # or {from: dirname|filename, map: {...}}
    noise_track: 0        # this track_id value means noise: stored as -1
    scale: {x: 10.0}
    events_per_shard: 1000
    label_names: [...]; semantic_names; default_task; units; default_features; extra

Shipped: ``configs/sources/drift-chamber-csv.yaml`` for ``ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.config.load import deep_merge, load_yaml
from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.schema import kind_of
from hepgraph.events.table import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources._common import check_keys, check_numbers, close_matches, expand_inputs
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.sources.mapping import check_class_names, check_types

KEYS = ("pattern", "delimiter", "event_id", "hits", "event", "noise_track", "scale", "events_per_shard",
        "label_names", "semantic_names", "default_task", "units", "default_features", "extra")
EVENT_KEYS = ("column", "reduce", "ignore", "from", "regex", "map", "default")
REDUCERS = ("first", "sum", "count", "nunique", "max", "min", "mean")
CHUNK_EVENTS = 256


def _read(path: str, delimiter: str) -> pa.Table:
    import pyarrow.csv as pcsv

    try:
        t = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delimiter))
        t.column_names  # noqa: B018  (the header is decoded here: a binary file fails now)
    except (pa.ArrowInvalid, OSError, EOFError) as err:
        raise DataError(f"cannot read CSV `{path}`: {str(err).splitlines()[0]}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"`{path}` is not a text CSV file (byte {err.start} is not UTF-8); is it the right file, "
                        "or binary data under a .csv name?") from None
    names = [c.strip() for c in t.column_names]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataError(f"CSV `{path}` has the column name(s) {', '.join(twice)} more than once in its header; "
                        "give every column its own name")
    return t.rename_columns(names)


def _delimiter_hint(have: list[str], delimiter: str) -> str:
    """A hint when the header parsed as one column that holds another separator."""
    if len(have) != 1:
        return ""
    for sep in (";", "\t", ",", "|", " "):
        if sep != delimiter and sep in have[0]:
            shown = sep.encode("unicode_escape").decode()
            return f"; the file looks `{shown}`-separated: set `delimiter: \"{shown}\"` in the mapping"
    return ""


@SOURCES.register("csv", description="one CSV file per event through a column mapping")
class CsvSource(Source):
    """One event per CSV file.

    Args:
        inputs: CSV files, directories or globs.
        mapping: the YAML column mapping (required).
        seed: unused; recorded.
        params: overrides of mapping keys.
    """

    name = "csv"

    def __init__(self, inputs: Sequence[str | Path] | None = None, mapping: str | Path | None = None,
                 seed: int = 0, params: dict[str, Any] | None = None) -> None:
        if mapping is None:
            raise ConfigError(f"source `csv` needs {setting('mapping', 'YAML')} (e.g. the shipped `drift-chamber-csv`)")
        m = deep_merge(load_yaml(mapping), params or {})
        check_keys(m, KEYS, f"csv mapping `{mapping}`")
        check_class_names(m, f"`{mapping}`")
        check_types(m, f"`{mapping}`")
        delimiter = m.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ConfigError(f"csv mapping `{mapping}`: delimiter `{delimiter}` must be one character, "
                              "e.g. delimiter: \";\"")
        hits = dict(m.get("hits") or {})
        if not all(c in hits for c in ("x", "y", "z")):
            raise ConfigError(f"csv mapping `{mapping}`: hits must map x, y and z (numbers allowed)")
        for k in hits:
            if kind_of(k) != "hit":
                raise ConfigError(f"csv mapping `{mapping}`: `{k}` is not a hit column (use the `hit_` prefix for extras)")
        for k, spec in (m.get("event") or {}).items():
            if not isinstance(spec, dict):
                raise ConfigError(f"csv mapping `{mapping}` event.{k}: give {{column, reduce}} or {{from, map}}")
            check_keys(spec, EVENT_KEYS, f"csv mapping `{mapping}` event.{k}")
            if spec.get("reduce", "first") not in REDUCERS:
                raise ConfigError(f"csv mapping event.{k}: reduce `{spec['reduce']}` must be one of {', '.join(REDUCERS)}")
            if spec.get("from") not in (None, "dirname", "filename"):
                raise ConfigError(f"csv mapping event.{k}: from `{spec['from']}` must be dirname or filename")
        self.m = m
        self.mapping_path = str(mapping)
        pattern = m.get("pattern") or ["*.csv", "*.csv.gz"]
        pattern = [pattern] if isinstance(pattern, str) else list(pattern)
        self.files = [str(p) for p in expand_inputs(inputs, source="csv", patterns=pattern)]
        self.seed = seed
        self.ids = self._event_ids()

    def _event_ids(self) -> list[int]:
        mode = self.m.get("event_id", "auto")
        if mode in ("auto", "filename"):
            nums = [re.findall(r"\d+", Path(f).name.split(".")[0]) for f in self.files]
            ids = [int(n[-1]) if n else None for n in nums]
            if None not in ids and len(set(ids)) == len(ids):
                return ids  # type: ignore[return-value]
            if mode == "filename":
                raise DataError("event_id: filename needs a distinct number in every CSV file name; "
                                "use event_id: index")
        return list(range(len(self.files)))

    def config(self) -> dict[str, Any]:
        """Files, mapping path and mapping."""
        return {"inputs": self.files, "mapping_path": self.mapping_path, "mapping": self.m}

    def info(self) -> SourceInfo:
        """Class names, task, units, features and extra from the mapping."""
        m = self.m
        return SourceInfo(label_names=m.get("label_names"), semantic_names=m.get("semantic_names"),
                          default_task=m.get("default_task"), units=dict(m.get("units") or {}),
                          default_features=m.get("default_features"), extra=dict(m.get("extra") or {}))

    def plan(self, max_events: int | None = None) -> list[list[int]]:
        """Groups of ``events_per_shard`` file indices."""
        n = len(self.files) if max_events is None else min(len(self.files), max_events)
        k = int(self.m.get("events_per_shard", 1000))
        if k < 1:
            raise ConfigError(f"events_per_shard `{k}` must be >= 1")
        return [list(range(a, min(a + k, n))) for a in range(0, n, k)]

    def read(self, task: list[int]) -> Iterator[pa.Table]:
        """Chunks of up to 256 events."""
        for a in range(0, len(task), CHUNK_EVENTS):
            evs = [self.read_event(i) for i in task[a : a + CHUNK_EVENTS]]
            counts = np.array([len(e[0]["x"]) for e in evs])
            hits = {k: np.concatenate([e[0][k] for e in evs]) for k in evs[0][0]}
            events = {k: np.array([e[1][k] for e in evs]) for k in evs[0][1]}
            yield table_from_flat(counts, hits, events)

    def read_event(self, i: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Hit columns and event scalars of file ``i``."""
        path = self.files[i]
        delimiter = self.m.get("delimiter", ",")
        t = _read(path, delimiter)
        have = t.column_names
        hit_map = self.m["hits"]
        ev_map = self.m.get("event") or {}
        need = [v for v in hit_map.values() if isinstance(v, str)]
        need += [s["column"] for s in ev_map.values() if "column" in s]
        mode = self.m.get("event_id", "auto")
        if mode not in ("auto", "filename", "index"):
            need.append(mode)
        missing = [c for c in dict.fromkeys(need) if c not in have]
        if missing:
            raise DataError(f"CSV `{path}` lacks column(s) {', '.join(missing)}{close_matches(missing[0], have)} "
                            f"(has: {', '.join(have)}); fix the file or the mapping"
                            f"{_delimiter_hint(have, delimiter)}")
        checks = [*((f"hits.{k}", v, setting(f"hits.{k}", "COLUMN")) for k, v in hit_map.items() if isinstance(v, str)),
                  *((f"event.{k}", s["column"], setting(f"event.{k}.column", "COLUMN"))
                    for k, s in ev_map.items() if "column" in s),
                  *((("event_id", mode, setting("event_id", "auto")),) if mode not in ("auto", "filename", "index")
                    else ())]
        for key, col, fix in checks:
            check_numbers(t.column(col), f"column `{col}` (mapped to `{key}`)", f"CSV `{path}`",
                          "clean the column in the file (a repeated header, a unit or a note in a cell), or map "
                          f"`{key}` to a column of numbers (or a constant number) in the mapping "
                          f"`{self.mapping_path}` or with {fix}", item="data row")
        n = t.num_rows
        scale = self.m.get("scale") or {}
        hits: dict[str, np.ndarray] = {}
        for k, v in hit_map.items():
            arr = t.column(v).to_numpy(zero_copy_only=False) if isinstance(v, str) else np.full(n, v)
            hits[k] = arr * float(scale[k]) if k in scale else arr
        noise = self.m.get("noise_track")
        if noise is not None and "track_id" in hits:
            hits["track_id"] = np.where(hits["track_id"] == noise, -1, hits["track_id"])
        eid = self.ids[i] if mode in ("auto", "filename", "index") else int(t.column(mode)[0].as_py())
        events: dict[str, Any] = {"event_id": eid}
        for k, spec in ev_map.items():
            events[k] = self._event_value(spec, t, path, k)
            if k in scale:
                events[k] = events[k] * float(scale[k])
        return hits, events

    def _event_value(self, spec: dict[str, Any], t: pa.Table, path: str, name: str) -> Any:
        if "from" in spec:
            p = Path(path)
            text = p.parent.name if spec["from"] == "dirname" else p.name
            if spec.get("regex"):
                mt = re.search(spec["regex"], text)
                text = mt.group(1 if mt and mt.groups() else 0) if mt else ""
            table = spec.get("map")
            if table is None:
                return text
            if text in table:
                return table[text]
            if spec.get("default") is not None:
                return spec["default"]
            raise DataError(f"event column `{name}`: `{text}` (from the {spec['from']} of `{path}`) is not in "
                            f"its map {sorted(table)}; add it to the mapping")
        v = t.column(spec["column"]).to_numpy(zero_copy_only=False)
        ignore = spec.get("ignore")
        if ignore:
            v = v[~np.isin(v, ignore)]
        how = spec.get("reduce", "first")
        if how == "count":
            return len(v)
        if how == "nunique":
            return len(np.unique(v))
        if len(v) == 0:
            if spec.get("default") is None:
                raise DataError(f"event column `{name}`: `{path}` has no rows to reduce; set a default")
            return spec["default"]
        return v[0] if how == "first" else getattr(np, how)(v)
