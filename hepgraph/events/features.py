"""The declarative feature spec: which hit columns feed a model and how they are scaled.

Each entry is ``[column, centre, scale, clip]`` (weaver style, trailing values optional):
the model sees ``clip((value - centre) * scale)``. ``centre=None`` means no shift,
``scale=None`` means 1. Model input sizes come from ``len(spec)``, never by hand.

>>> spec = FeatureSpec.parse([["x", 0.0, 1.0e-3], ["charge"]])
>>> spec.names, spec.num_features
(['x', 'charge'], 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError


@dataclass(frozen=True)
class Feature:
    """One input feature: ``clip((column - centre) * scale, -clip, clip)``."""

    column: str
    centre: float | None = None
    scale: float | None = None
    clip: float | None = None

    def as_list(self) -> list[Any]:
        """``[column, centre, scale, clip]`` (the YAML form)."""
        return [self.column, self.centre, self.scale, self.clip]


@dataclass(frozen=True)
class FeatureSpec:
    """An ordered list of :class:`Feature`."""

    features: tuple[Feature, ...]

    @classmethod
    def parse(cls, spec: Sequence[Any] | FeatureSpec) -> FeatureSpec:
        """From ``["x", ["charge", 0, 0.1], ...]`` (a bare string = no scaling).

        Raises:
            ConfigError: an entry is malformed.
        """
        if isinstance(spec, FeatureSpec):
            return spec
        feats = []
        for entry in spec:
            if isinstance(entry, str):
                feats.append(Feature(entry))
            elif isinstance(entry, Mapping):
                feats.append(Feature(**entry))
            elif isinstance(entry, Sequence) and entry and isinstance(entry[0], str) and len(entry) <= 4:
                vals = [None if v is None else float(v) for v in entry[1:]]
                feats.append(Feature(entry[0], *vals))
            else:
                raise ConfigError(
                    f"feature entry `{entry}` must be `column` or `[column, centre, scale, clip]`"
                )
        if not feats:
            raise ConfigError("the feature spec is empty; give at least one hit column")
        return cls(tuple(feats))

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [f.column for f in self.features]

    @property
    def num_features(self) -> int:
        """Number of input channels the spec produces."""
        return len(self.features)

    def to_list(self) -> list[list[Any]]:
        """YAML/JSON-serialisable form (stored in checkpoints)."""
        return [f.as_list() for f in self.features]

    def apply(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Build the (N, C) float32 feature matrix from flat hit columns.

        Raises:
            DataError: a column of the spec is not in the data.
        """
        out = []
        for f in self.features:
            if f.column not in columns:
                raise DataError(
                    f"feature column `{f.column}` is not in the dataset "
                    f"(have: {', '.join(sorted(columns))}); change data.features"
                )
            v = np.asarray(columns[f.column], dtype=np.float32)
            if f.centre is not None:
                v = v - np.float32(f.centre)
            if f.scale is not None:
                v = v * np.float32(f.scale)
            if f.clip is not None:
                v = np.clip(v, -f.clip, f.clip)
            out.append(v)
        n = len(out[0]) if out else 0
        return np.stack(out, axis=1).astype(np.float32, copy=False) if n else np.zeros((0, len(out)), np.float32)


#: Default features when a config gives none: the deposited charge alone.
DEFAULT_FEATURES = FeatureSpec((Feature("charge"),))
