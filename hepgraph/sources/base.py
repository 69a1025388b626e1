"""The ``Source`` interface: where events come from.

A source turns its input (files or a simulator config) into chunks of events as
``pyarrow.Table`` (one row per event, see :mod:`hepgraph.events.table`). Building a
dataset is split into *shard tasks* so that it can run in worker processes or on a
Dask cluster with the same result:

1. ``plan(max_events)`` (in the client) returns picklable task descriptions, one per
   output shard, in output order. It must be deterministic and cheap.
2. ``read(task)`` (in a worker) yields bounded chunks of events for that shard.

Whatever runs the tasks, shard ``i`` holds the events of ``plan(...)[i]``, so a build
with 1 or N workers (or Dask) gives identical shards.

New source recipe: subclass :class:`Source`, implement ``plan`` and ``read``, and
register it in ``hepgraph.registry.SOURCES``. ``hepgraph build-dataset`` builds a source as

    SOURCES.get(name)(inputs=[...] | None, mapping=path | None, seed=int, params={...})

where ``params`` is the nested dict of the ``--set key.path=value`` overrides. A source
that takes no input files raises ``ConfigError`` when ``inputs`` is given, and one that
needs them raises it when they are missing; unknown ``params`` keys raise ``ConfigError``
naming the key and the valid ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass
class SourceInfo:
    """What a source tells the manifest about its events.

    Attributes:
        label_names: class names of ``label`` (index -> name), if the source has labels.
        semantic_names: class names of ``semantic``.
        default_task: the task ``hepgraph train`` uses when none is given.
        units: unit overrides for columns (for example ``{"charge": "ADC"}``).
        default_features: a feature spec suited to the data, ``[[column, centre, scale], ...]``.
        extra: anything else worth recording (detector geometry, field in T, ...).
    """

    label_names: list[str] | None = None
    semantic_names: list[str] | None = None
    default_task: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    default_features: list[list[Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Source(ABC):
    """Base class of event sources.

    Attributes:
        name: the registered name (``root``, ``trackml``, ``sim-lartpc``, ...).
    """

    name: str = "source"

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The full, JSON-serialisable configuration (recorded in the manifest)."""

    def info(self) -> SourceInfo:
        """Class names, default task, unit overrides (defaults: none)."""
        return SourceInfo()

    @abstractmethod
    def plan(self, max_events: int | None = None) -> list[Any]:
        """Picklable shard tasks, in output order; at most ``max_events`` events in total.

        Raises:
            HepgraphError: the input is unusable (missing file, bad mapping, ...).
        """

    @abstractmethod
    def read(self, task: Any) -> Iterator[pa.Table]:
        """Yield chunks of events (bounded size) for one shard task."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"
