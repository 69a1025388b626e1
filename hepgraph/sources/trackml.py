"""The ``trackml`` source: TrackML challenge CSV events (plain or gzip-compressed).

An event ``eventNNNNNNNNN`` is a set of files ``eventNNNNNNNNN-{hits,truth,particles}.csv``
(``.csv.gz`` too), plus optional ``-cells.csv``. The truth and particles files may both be
absent (the challenge's test split, detector data): the events then have the hit columns only
(no ``track_id``, ``pdg`` or particle columns, no default task, and the field is unknown unless
``field_T`` is set). The events of one dataset all have truth or all lack it. They become:

- hits: ``hit_id``, ``x, y, z`` (mm), ``layer`` (layer_id), ``module`` (module_id),
  ``hit_volume`` (volume_id); with cells: ``charge`` (sum of cell values) and ``hit_ncells``;
- truth: ``track_id`` = ``particle_id`` (TrackML 0 = noise -> -1), ``pdg`` of that particle
  (0 for noise), ``hit_weight`` (the TrackML score weight);
- particles: ``particle_id``, ``particle_pdg`` (particle_type), ``particle_q``,
  ``particle_px/py/pz`` (GeV), ``particle_vx/vy/vz`` (mm), ``particle_nhits`` (hits of the
  particle present in the event), ``particle_weight`` (sum of its hits' truth weights);
- ``event_id`` = the event number of the file name, ``n_tracks`` = particles with hits.

Config (``--set``): ``events_per_shard`` (default 50), ``cells`` (read cells when present,
default true), ``noise`` (keep noise hits, default true; needs truth), ``field_T`` (the solenoid field in T;
default: estimated from the first event's truth tracks, see
:func:`hepgraph.sources.field.estimate_field`, since the TrackML *format* is used
for detectors other than the 2 T challenge detector).

Geometry (``extra.tracker_geometry``): the layers of a ``detectors.csv[.gz]`` beside the events (module
centres grouped by ``volume_id, layer_id``: planes or cylinders), else of the first event's
hits; the layer key of a hit combines ``hit_volume`` and ``layer``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.table import table_from_flat
from hepgraph.registry import SOURCES
from hepgraph.sources._common import expand_inputs, merge_params
from hepgraph.sources.base import Source, SourceInfo

log = logging.getLogger(__name__)

_EVENT_RE = re.compile(r"^(event\d+)-(hits|truth|particles|cells)\.csv(\.gz)?$")

REQUIRED_COLUMNS = {
    "hits": ("hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id"),
    "truth": ("hit_id", "particle_id", "weight"),
    "particles": ("particle_id", "vx", "vy", "vz", "px", "py", "pz", "q"),
    "cells": ("hit_id", "value"),
}

DEFAULTS = {"events_per_shard": 50, "cells": True, "noise": True, "field_T": None}

#: Columns whose combination names a layer (volume ids repeat layer ids).
LAYER_COLUMNS = ("hit_volume", "layer")


def read_csv(path: str | Path, required: Sequence[str]) -> pa.Table:
    """Read a (possibly gzipped) CSV with pyarrow, checking the required columns.

    Raises:
        DataError: unreadable file or missing columns.
    """
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(str(path))
        table.column_names  # noqa: B018  (the header is decoded here: a binary file fails now)
    except (pa.ArrowInvalid, OSError, EOFError) as err:
        raise DataError(f"cannot read CSV `{path}`: {str(err).splitlines()[0]}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"`{path}` is not a text CSV file (byte {err.start} is not UTF-8); is it the right file, "
                        "or binary data under a .csv name?") from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise DataError(
            f"CSV `{path}` lacks column(s) {', '.join(missing)} (has: {', '.join(table.column_names)})"
        )
    text = [c for c in required if not (pa.types.is_integer(table.schema.field(c).type)
                                       or pa.types.is_floating(table.schema.field(c).type))]
    if text:
        raise DataError(f"CSV `{path}`: column `{text[0]}` holds text where the TrackML format has "
                        "numbers; check the file (a header repeated inside it, a damaged line)")
    return table


def _prefix(parts: dict[str, str]) -> str:
    """``dir/eventNNN`` of an event's files."""
    return parts["hits"].rsplit("-", 1)[0]


def _np(table: pa.Table, name: str, dtype: Any) -> np.ndarray:
    return table.column(name).to_numpy().astype(dtype, copy=False)


def hits_extent(cols: Sequence[np.ndarray]) -> list[list[float]]:
    """(3, 2) box in mm around the hits of x, y, z, 5 % wider: symmetric about 0 when the hits
    surround the origin on every axis (a collider barrel: x and y share their half-width),
    else the hits' own range plus 5 % and 1 mm (a telescope or a detector far from the origin,
    whose features are then centred on it, not on 0)."""
    lo = [float(np.min(c)) for c in cols]
    hi = [float(np.max(c)) for c in cols]
    if all(a < 0.0 < b for a, b in zip(lo, hi)):
        lim = [max(-a, b) * 1.05 for a, b in zip(lo, hi)]
        r = max(lim[0], lim[1])
        return [[-r, r], [-r, r], [-lim[2], lim[2]]]
    pad = [0.05 * (b - a) + 1.0 for a, b in zip(lo, hi)]
    return [[a - p, b + p] for a, b, p in zip(lo, hi, pad)]


@SOURCES.register("trackml", description="TrackML challenge CSV events (plain or .gz)")
class TrackMLSource(Source):
    """TrackML CSV events from directories, files or globs.

    Args:
        inputs: directories holding ``event*-hits.csv[.gz]`` files, such files, or globs.
        mapping: not used (TrackML has a fixed layout); must be None.
        seed: unused (reading is deterministic); recorded.
        params: ``events_per_shard``, ``cells``, ``noise``.
    """

    name = "trackml"

    def __init__(self, inputs: Sequence[str | Path] | None = None, mapping: str | Path | None = None,
                 seed: int = 0, params: dict[str, Any] | None = None) -> None:
        if mapping is not None:
            raise ConfigError(f"source `trackml` takes no {setting('mapping')} (the TrackML layout is fixed)")
        self.params = merge_params(DEFAULTS, params, "trackml source")
        if int(self.params["events_per_shard"]) < 1:
            raise ConfigError(f"events_per_shard `{self.params['events_per_shard']}` must be >= 1")
        f = self.params["field_T"]
        if f is not None and (isinstance(f, bool) or not isinstance(f, (int, float)) or not np.isfinite(f)):
            raise ConfigError(f"trackml `field_T` = `{f}` must be a number in T (0 for no field)")
        files = expand_inputs(inputs, source="trackml", patterns=("event*-*.csv", "event*-*.csv.gz"))
        self.inputs = [str(p) for p in (inputs or [])]
        self.seed = seed
        self.events = self._find_events(files)
        #: Whether the events have truth and particles files (all do or none, see :meth:`_find_events`).
        self.truth = "truth" in self.events[0]
        if not self.truth and not self.params["noise"]:
            raise ConfigError(f"trackml {setting('noise', 'false')} drops the noise hits of the truth files, but "
                              f"`{_prefix(self.events[0])}` has hits only (no truth file); leave `noise` unset")

    @staticmethod
    def _find_events(files: list[Path]) -> list[dict[str, str]]:
        events: dict[str, dict[str, str]] = {}
        for f in files:
            m = _EVENT_RE.match(f.name)
            if m:
                events.setdefault(str(f.parent / m.group(1)), {})[m.group(2)] = str(f)
        if not events:
            raise DataError(
                f"no TrackML event files (eventNNN-hits.csv[.gz]) among {len(files)} input file(s); "
                f"point {setting('input')} at a TrackML directory"
            )
        out = []
        for prefix, parts in sorted(events.items()):
            for kind in ("hits", "truth", "particles", "cells"):
                for ext in (".csv", ".csv.gz"):  # siblings of a globbed hits file
                    if kind not in parts and Path(f"{prefix}-{kind}{ext}").is_file():
                        parts[kind] = f"{prefix}-{kind}{ext}"
            if "hits" not in parts:
                raise DataError(f"TrackML event `{prefix}` has no hits file ({prefix}-hits.csv[.gz]); add the file, "
                                f"or leave the event out of {setting('input')}")
            if ("truth" in parts) != ("particles" in parts):  # truth needs both; hits alone are fine
                kind = "particles" if "truth" in parts else "truth"
                raise DataError(f"TrackML event `{prefix}` has no {kind} file ({prefix}-{kind}.csv[.gz]) but has "
                                f"the {'truth' if kind == 'particles' else 'particles'} file: an event has either "
                                "both (truth) or neither (hits only); add the file, or remove its partner to "
                                "build the event from its hits alone")
            out.append(parts)
        with_truth = [p for p in out if "truth" in p]
        if with_truth and len(with_truth) < len(out):
            bare = next(p for p in out if "truth" not in p)
            raise DataError(
                f"the TrackML inputs mix events with truth ({len(with_truth)}, e.g. "
                f"`{_prefix(with_truth[0])}`) and events with hits only ({len(out) - len(with_truth)}, e.g. "
                f"`{_prefix(bare)}`); a dataset has truth for every event or for none: build them as two "
                f"datasets (give each its own {setting('input')})"
            )
        return out

    def config(self) -> dict[str, Any]:
        """Inputs and parameters."""
        return {"inputs": self.inputs, "params": self.params, "n_files": len(self.events)}

    def info(self) -> SourceInfo:
        """Extent, field and layers of the detector, from the files (see the module docstring)."""
        from hepgraph.events import geometry as tg
        from hepgraph.events.table import table_to_events
        from hepgraph.sources.field import estimate_field

        first = table_to_events(self.read_event(self.events[0]))[0] if self.events else {}
        field, origin = self.params["field_T"], "file"
        if field is None:
            field = estimate_field([first]) if first else None
            origin = "truth fit" if field is not None else "unknown"
        det = self._detectors_file()
        if det is not None:
            surfaces, geo_origin = detector_surfaces(det), f"detectors file {Path(det).name}"
        elif first:
            pos = np.stack([np.asarray(first[c], np.float64) for c in ("x", "y", "z")], 1)
            surfaces = tg.describe_surfaces(pos, tg.layer_key(first, LAYER_COLUMNS))
            geo_origin = "hits of the first event"
        else:
            surfaces, geo_origin = [], "none"
        extent = [[-1025.0, 1025.0], [-1025.0, 1025.0], [-3000.0, 3000.0]]
        if first and len(first["x"]):
            extent = hits_extent([np.asarray(first[c], np.float64) for c in ("x", "y", "z")])
        return SourceInfo(
            default_task="edge-classification" if self.truth else None,  # every task needs truth to train
            units={"charge": "a.u."},
            default_features=[[c, (lo + hi) / 2, 2.0 / (hi - lo)] for c, (lo, hi) in zip("xyz", extent)],
            extra={"extent": extent, "field_T": None if field is None else float(field), "field_origin": origin,
                   "detector": "TrackML format",
                   "tracker_geometry": tg.geometry_record(surfaces, LAYER_COLUMNS, geo_origin, "module")},
        )

    def _detectors_file(self) -> str | None:
        """``detectors.csv[.gz]`` in the directory of the first event, if any."""
        if not self.events:
            return None
        d = Path(self.events[0]["hits"]).parent
        for name in ("detectors.csv", "detectors.csv.gz"):
            if (d / name).is_file():
                return str(d / name)
        return None

    def plan(self, max_events: int | None = None) -> list[list[dict[str, str]]]:
        """Groups of ``events_per_shard`` events (each event read whole)."""
        events = self.events[:max_events] if max_events is not None else self.events
        k = int(self.params["events_per_shard"])
        return [events[i : i + k] for i in range(0, len(events), k)]

    def read(self, task: list[dict[str, str]]) -> Iterator[pa.Table]:
        """One chunk per event (TrackML events are ~100k hits)."""
        for parts in task:
            yield self.read_event(parts)

    def read_event(self, parts: dict[str, str]) -> pa.Table:
        """Read one event's files into a one-row chunk."""
        hits = read_csv(parts["hits"], REQUIRED_COLUMNS["hits"])
        event_id = int(re.sub(r"\D", "", Path(parts["hits"]).name.split("-")[0]))
        hit_id = _np(hits, "hit_id", np.int64)
        cols: dict[str, np.ndarray] = {
            "hit_id": hit_id,
            "x": _np(hits, "x", np.float32), "y": _np(hits, "y", np.float32), "z": _np(hits, "z", np.float32),
            "layer": _np(hits, "layer_id", np.int32), "module": _np(hits, "module_id", np.int32),
            "hit_volume": _np(hits, "volume_id", np.int64),
        }
        if self.params["cells"] and "cells" in parts:
            cols.update(_cell_columns(parts["cells"], hit_id))
        if "truth" not in parts:  # a test split or detector data: hits only, no truth or particle columns
            return table_from_flat(np.array([len(hit_id)]), cols, {"event_id": np.array([event_id], np.int64)})
        return self._add_truth(parts, cols, event_id)

    def _add_truth(self, parts: dict[str, str], cols: dict[str, np.ndarray], event_id: int) -> pa.Table:
        """The one-row chunk of an event's hit columns ``cols`` with its truth and particles."""
        truth = read_csv(parts["truth"], REQUIRED_COLUMNS["truth"])
        parts_t = read_csv(parts["particles"], REQUIRED_COLUMNS["particles"])
        hit_id = cols["hit_id"]
        t_hit = _np(truth, "hit_id", np.int64)
        t_sort = np.argsort(t_hit, kind="stable")
        pos = np.searchsorted(t_hit, hit_id, sorter=t_sort)
        t_idx = t_sort[np.minimum(pos, max(len(t_hit) - 1, 0))] if len(t_hit) else pos
        if len(hit_id) and (len(t_hit) == 0 or not np.array_equal(t_hit[t_idx], hit_id)):
            raise DataError(f"TrackML truth `{parts['truth']}` does not cover every hit_id of `{parts['hits']}`")
        pid = _np(truth, "particle_id", np.int64)[t_idx]
        weight = _np(truth, "weight", np.float32)[t_idx]

        cols["track_id"], cols["hit_weight"] = np.where(pid == 0, -1, pid), weight
        if not self.params["noise"]:
            keep = cols["track_id"] != -1
            cols = {k: v[keep] for k, v in cols.items()}

        # Particles: those in the file, plus any truth particle missing from it.
        p_id = _np(parts_t, "particle_id", np.int64)
        tids = cols["track_id"]
        missing = np.setdiff1d(np.unique(tids[tids != -1]), p_id)
        if missing.size:
            log.warning("%s: %d truth particle(s) missing from the particles file", parts["particles"], missing.size)
        n_missing = missing.size

        def pcol(name: str, dtype: Any, fill: Any) -> np.ndarray:
            base = _np(parts_t, name, dtype) if name in parts_t.column_names else np.full(len(p_id), fill, dtype)
            return np.concatenate([base, np.full(n_missing, fill, dtype)])

        all_pid = np.concatenate([p_id, missing])
        p_order = np.argsort(all_pid, kind="stable")
        hit_p = np.searchsorted(all_pid, tids, sorter=p_order)
        real = tids != -1
        p_of_hit = p_order[np.minimum(hit_p, len(all_pid) - 1)]
        nhits = np.bincount(p_of_hit[real], minlength=len(all_pid)).astype(np.int32)
        pweight = np.bincount(p_of_hit[real], weights=cols["hit_weight"][real].astype(np.float64),
                              minlength=len(all_pid)).astype(np.float32)
        ppdg = pcol("particle_type", np.int32, 0)
        cols["pdg"] = np.where(real, ppdg[p_of_hit], 0).astype(np.int32)
        particles = {
            "particle_id": all_pid, "particle_pdg": ppdg, "particle_q": pcol("q", np.int32, 0),
            "particle_px": pcol("px", np.float32, np.nan), "particle_py": pcol("py", np.float32, np.nan),
            "particle_pz": pcol("pz", np.float32, np.nan), "particle_vx": pcol("vx", np.float32, np.nan),
            "particle_vy": pcol("vy", np.float32, np.nan), "particle_vz": pcol("vz", np.float32, np.nan),
            "particle_nhits": nhits, "particle_weight": pweight,
        }
        n = len(cols["x"])
        events = {"event_id": np.array([event_id], np.int64),
                  "n_tracks": np.array([int((nhits > 0).sum())], np.int32)}
        return table_from_flat(np.array([n]), cols, events, np.array([len(all_pid)]), particles)


def _cell_columns(path: str, hit_id: np.ndarray) -> dict[str, np.ndarray]:
    """``charge`` (sum of cell values) and ``hit_ncells`` of each hit from a cells file."""
    cells = read_csv(path, REQUIRED_COLUMNS["cells"])
    c_hit = _np(cells, "hit_id", np.int64)
    uniq = np.sort(hit_id)
    c_pos = np.searchsorted(uniq, c_hit)
    ok = (c_pos < len(uniq)) & (uniq[np.minimum(c_pos, len(uniq) - 1)] == c_hit)
    charge_sorted = np.bincount(c_pos[ok], weights=_np(cells, "value", np.float64)[ok], minlength=len(uniq))
    ncells_sorted = np.bincount(c_pos[ok], minlength=len(uniq))
    back = np.searchsorted(uniq, hit_id)
    return {"charge": charge_sorted[back].astype(np.float32), "hit_ncells": ncells_sorted[back].astype(np.int64)}


def detector_surfaces(path: str | Path) -> list[dict[str, Any]]:
    """Layers of a TrackML ``detectors.csv``: module centres grouped by (volume_id, layer_id).

    A layer whose module centres spread more in z than in r is a cylinder (radius = median
    centre radius, z range = that of the centres), else a plane (r range of the centres).
    """
    from hepgraph.events import geometry as tg

    det = read_csv(path, ("volume_id", "layer_id", "cx", "cy", "cz"))
    vol, lay = _np(det, "volume_id", np.int64), _np(det, "layer_id", np.int64)
    pos = np.stack([_np(det, c, np.float64) for c in ("cx", "cy", "cz")], 1)
    key = tg.layer_key({"hit_volume": vol, "layer": lay}, LAYER_COLUMNS)
    return tg.describe_surfaces(pos, key)
