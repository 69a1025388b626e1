"""Event sources: built-in simulators, ROOT, HDF5, TrackML and CSV readers (registered in SOURCES).

The modules that register a source are imported here so that ``SOURCES`` is filled; they
import cheaply (uproot, awkward, ... inside functions).
"""

from __future__ import annotations

# each module registers its sources in SOURCES when imported
from hepgraph.sources import csv, hdf5, root, trackml  # noqa: F401
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.sources.simulate import drift_chamber, geiger_grid, lartpc, pad_tpc, silicon  # noqa: F401

__all__ = ["Source", "SourceInfo"]
