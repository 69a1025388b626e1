"""Event sources: built-in simulators, ROOT, TrackML and CSV readers (registered in SOURCES).

Every module below this package is imported here so that ``SOURCES`` is filled; modules
must import cheaply (uproot, awkward, ... inside functions).
"""

from __future__ import annotations

from hepgraph._autoimport import import_submodules
from hepgraph.sources.base import Source, SourceInfo

import_submodules(__name__, __path__)

__all__ = ["Source", "SourceInfo"]
