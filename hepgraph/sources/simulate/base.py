"""``SimulatedSource``: the shared machinery of the built-in detector simulators.

A simulator is a YAML preset (``configs/detectors/<name>.yaml``) plus a class that turns
a block of events into a ``pyarrow.Table``. This module handles what every detector
shares:

- loading the preset and applying ``params`` overrides (``--set key.path=value``), with
  unknown keys rejected by name and a close-match suggestion;
- checks common to all presets (counts > 0, momentum ranges with min <= max);
- the shard plan: fixed-size blocks of ``block_size`` events, block ``i`` seeded with
  ``numpy.random.SeedSequence([seed, i])``, so that the data do not depend on how many
  workers run the blocks.

Subclasses set ``detector`` and implement :meth:`SimulatedSource.simulate` (one block)
and :meth:`SimulatedSource.info`.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from hepgraph.errors import ConfigError, setting
from hepgraph.sources.base import Source

#: Preset keys that hold free-form mappings (new sub-keys are allowed).
OPEN_SECTIONS: frozenset[str] = frozenset({"topologies", "reactions"})


#: The most events one simulated dataset may hold (the plan is a list of blocks in memory).
MAX_EVENTS = 10**9


@dataclass(frozen=True)
class BlockTask:
    """One shard task: ``count`` events starting at global index ``start``.

    Attributes:
        index: block number (the second entry of the block's SeedSequence).
        start: event_id of the first event of the block.
        count: number of events in the block.
    """

    index: int
    start: int
    count: int


def load_preset(detector: str) -> dict[str, Any]:
    """Read the shipped preset ``hepgraph/configs/detectors/<detector>.yaml``.

    Raises:
        ConfigError: no such preset (lists the available ones).
    """
    from hepgraph.config import configs_dir, load_yaml, shipped_names

    if detector not in shipped_names("detectors"):
        raise ConfigError(
            f"detector preset `{detector}` is not shipped; available: "
            f"{', '.join(shipped_names('detectors'))}"
        )
    return load_yaml(configs_dir() / "detectors" / f"{detector}.yaml")


def merge_params(
    preset: Mapping[str, Any], params: Mapping[str, Any], where: str = ""
) -> dict[str, Any]:
    """Apply overrides to a preset, rejecting keys the preset does not have.

    Args:
        preset: the detector preset (nested mapping).
        params: overrides (nested mapping, as built from ``--set a.b=c``).
        where: key path prefix for messages.

    Raises:
        ConfigError: an override key is not in the preset (names the valid keys).
    """
    out = copy.deepcopy(dict(preset))
    for key, value in params.items():
        path = f"{where}{key}"
        if key not in out:
            valid = sorted(out)
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean `{where}{close[0]}`?)" if close else ""
            raise ConfigError(
                f"unknown detector parameter `{path}`{hint}; valid: {', '.join(valid)}"
            )
        if isinstance(out[key], Mapping) and isinstance(value, Mapping):
            if key in OPEN_SECTIONS:
                out[key] = {**out[key], **copy.deepcopy(dict(value))}
            else:
                out[key] = merge_params(out[key], value, where=f"{path}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_positive(cfg: Mapping[str, Any], *keys: str, integer: bool = True) -> None:
    """Raise ConfigError unless every ``cfg[key]`` is a number > 0."""
    for key in keys:
        v = cfg[key]
        ok = isinstance(v, (int, np.integer)) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or v <= 0:
            kind = "a positive integer" if integer else "a positive number"
            raise ConfigError(f"detector parameter `{key}` must be {kind}, got `{v}`")


def check_range(value: Any, name: str, *, positive: bool = True) -> tuple[float, float]:
    """Validate a ``[min, max]`` pair; returns it as floats.

    Raises:
        ConfigError: not a pair of numbers, min > max, or (``positive``) min <= 0.
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"`{name}` must be a [min, max] pair, got `{value}`")
    try:
        lo, hi = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise ConfigError(f"`{name}` must hold two numbers, got `{value}`") from None
    if lo > hi:
        raise ConfigError(f"`{name}` = `{value}` has min > max; give [min, max] with min <= max")
    if positive and lo <= 0:
        raise ConfigError(f"`{name}` = `{value}` must be > 0")
    return lo, hi


class SimulatedSource(Source):
    """Base class of the built-in simulators (``sim-<detector>`` in ``SOURCES``).

    Args:
        inputs: must be None (simulators read no files).
        mapping: must be None.
        seed: master seed; block ``i`` uses ``SeedSequence([seed, i])``.
        params: overrides of the preset keys (nested dict).

    Raises:
        ConfigError: input files given, unknown parameter, or an invalid value.
    """

    detector: str = ""
    #: simulate a block in chunks of this many events (None: the whole block at once); keeps
    #: the per-hit arrays of detectors with many hits per event in cache. The chunks use the
    #: block's generator in turn, so the output still depends on the seed and block only.
    chunk_events: int | None = None

    def __init__(
        self,
        inputs: list[str] | None = None,
        mapping: str | None = None,
        seed: int = 0,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = f"sim-{self.detector}"
        if inputs:
            raise ConfigError(
                f"source `{self.name}` simulates its events and takes no input files "
                f"(got `{inputs[0]}`); drop the inputs or choose a file source"
            )
        if mapping:
            raise ConfigError(f"source `{self.name}` takes no {setting('mapping')} (got `{mapping}`)")
        self.seed = int(seed)
        self.cfg = merge_params(load_preset(self.detector), dict(params or {}))
        check_positive(self.cfg, "events", "block_size")
        self.validate()

    def validate(self) -> None:
        """Detector-specific checks (override; raise ConfigError)."""

    def config(self) -> dict[str, Any]:
        """The resolved preset (recorded in the manifest)."""
        return {"detector": self.detector, **copy.deepcopy(self.cfg)}

    def plan(self, max_events: int | None = None) -> list[BlockTask]:
        """Blocks of ``block_size`` events (``events`` from the preset when not given).

        Raises:
            ConfigError: ``max_events`` <= 0.
        """
        n = int(self.cfg["events"] if max_events is None else max_events)
        if n <= 0:
            raise ConfigError(f"the number of events must be > 0, got `{n}`")
        if n > MAX_EVENTS:
            raise ConfigError(f"`{n}` events is more than one simulated dataset holds ({MAX_EVENTS:,}); "
                              "build several datasets with different seeds")
        bs = int(self.cfg["block_size"])
        return [
            BlockTask(i, s, min(bs, n - s)) for i, s in enumerate(range(0, n, bs))
        ]

    def rng(self, task: BlockTask) -> np.random.Generator:
        """The block's generator, from ``SeedSequence([seed, block index])``."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, task.index]))

    def read(self, task: BlockTask) -> Iterator[pa.Table]:
        """Simulate one block, yielded in chunks of ``chunk_events`` events (or as one)."""
        rng = self.rng(task)
        step = self.chunk_events or task.count
        for a in range(0, task.count, step):
            yield self.simulate(rng, min(step, task.count - a), task.start + a)

    def simulate(self, rng: np.random.Generator, n: int, start: int) -> pa.Table:
        """Simulate ``n`` events with ids ``start .. start+n-1`` (override)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, events={self.cfg['events']})"


def make_factory(cls: type[SimulatedSource]) -> Any:
    """The ``SOURCES`` factory ``(inputs=None, mapping=None, seed=0, params={})`` for a class."""

    def factory(
        inputs: list[str] | None = None,
        mapping: str | None = None,
        seed: int = 0,
        params: Mapping[str, Any] | None = None,
    ) -> SimulatedSource:
        return cls(inputs=inputs, mapping=mapping, seed=seed, params=params or {})

    factory.__doc__ = cls.__doc__
    factory.__name__ = f"sim_{cls.detector.replace('-', '_')}"
    return factory
