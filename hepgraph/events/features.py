"""The declarative feature spec: which hit columns feed a model and how they are scaled.

Each entry is ``[column, centre, scale, clip]`` (weaver style, trailing values optional):
the model sees ``clip((value - centre) * scale)``. ``centre=None`` means no shift,
``scale=None`` means 1, and ``"auto"`` means "from the training hits" (the median and one
over the half 16-84 % quantile range, set by :meth:`FeatureSpec.fitted` before training and
stored as numbers). The arithmetic is done in float64 before the cast to float32, so a
centred column of absolute times (~1e9 ns) keeps its ns. Model input sizes come from
``len(spec)``, never by hand.

>>> spec = FeatureSpec.parse([["x", 0.0, 1.0e-3], ["charge"]])
>>> spec.names, spec.num_features
(['x', 'charge'], 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError, setting


@dataclass(frozen=True)
class Feature:
    """One input feature: ``clip((column - centre) * scale, -clip, clip)``."""

    column: str
    centre: float | str | None = None
    scale: float | str | None = None
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
        if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):
            raise ConfigError(f"the feature spec `{spec}` must be a list of columns, e.g. "
                              f"{setting('data.features', '[[x, auto, auto], [y, auto, auto], charge]')}")
        feats = []
        for entry in spec:
            if isinstance(entry, str):
                feats.append(Feature(entry))
            elif isinstance(entry, Mapping):
                unknown = sorted(set(map(str, entry)) - {"column", "centre", "scale", "clip"})
                if unknown or "column" not in entry:
                    raise ConfigError(f"feature entry `{dict(entry)}` needs `column` and may have centre, scale "
                                      f"and clip{f'; unknown key `{unknown[0]}`' if unknown else ''}")
                feats.append(Feature(**entry))
            elif isinstance(entry, Sequence) and entry and isinstance(entry[0], str) and len(entry) <= 4:
                vals = [_value(entry[0], v, i < 2) for i, v in enumerate(entry[1:])]
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
            if AUTO in (f.centre, f.scale):
                raise ConfigError(f"feature `{f.column}` has an `auto` centre or scale that was never "
                                  "fitted; call FeatureSpec.fitted(columns) on training hits first")
            v = np.asarray(columns[f.column])
            if f.centre is not None or f.scale is not None:  # float64: absolute times keep their ns
                v = v.astype(np.float64, copy=False)
            if f.centre is not None:
                v = v - float(f.centre)
            if f.scale is not None:
                v = v * float(f.scale)
            v = v.astype(np.float32, copy=False)
            if f.clip is not None:
                v = np.clip(v, -f.clip, f.clip)
            out.append(v)
        n = len(out[0]) if out else 0
        return np.stack(out, axis=1).astype(np.float32, copy=False) if n else np.zeros((0, len(out)), np.float32)

    @property
    def needs_fit(self) -> bool:
        """Whether a centre or scale is ``auto`` (to be set by :meth:`fitted`)."""
        return any(AUTO in (f.centre, f.scale) for f in self.features)

    def fitted(self, columns: Mapping[str, np.ndarray]) -> FeatureSpec:
        """The spec with every ``auto`` replaced from training hits, checked for float32 precision.

        Args:
            columns: flat hit columns (a sample of the training hits), by name.

        Returns:
            A spec of numbers: ``auto`` centre = median, ``auto`` scale = 1 / (half the 16-84 %
            quantile range), falling back to the standard deviation and then to 1 for a
            constant column.

        Raises:
            DataError: a column is missing, or an unshifted column lies so far from zero (more
                than 2**20 spreads, or inputs of 2**16 and more: absolute times) that float32
                cannot resolve it or a network cannot take it.
        """
        out = []
        for f in self.features:
            if f.column not in columns:
                raise DataError(f"feature column `{f.column}` is not in the dataset "
                                f"(have: {', '.join(sorted(columns))}); change data.features")
            v = np.asarray(columns[f.column], dtype=np.float64)
            v = v[np.isfinite(v)]
            centre, spread = (float(np.median(v)), _spread(v)) if v.size else (0.0, 1.0)
            scaled = abs(centre) * (1.0 if f.scale in (None, AUTO) else abs(float(f.scale)))
            if f.centre is None and v.size and (abs(centre) > FLOAT32_RESOLVE * spread or scaled > MAX_INPUT):
                raise DataError(
                    f"feature `{f.column}` lies around {centre:.6g} (spread {spread:.3g}) with no centre: the "
                    f"network would see unshifted inputs of ~{scaled:.3g}; give it a centre, "
                    f"e.g. {setting('data.features', f'[[{f.column}, auto, auto]]')}")
            out.append(Feature(f.column, centre if f.centre == AUTO else f.centre,
                               1.0 / spread if f.scale == AUTO else f.scale, f.clip))
        return FeatureSpec(tuple(out))


def _value(column: str, v: Any, may_be_auto: bool) -> float | str | None:
    if v is None or (may_be_auto and v == AUTO):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        extra = " or `auto`" if may_be_auto else ""
        raise ConfigError(f"feature `{column}`: `{v}` is not a number{extra}") from None


def _spread(v: np.ndarray) -> float:
    """Half the 16-84 % quantile range (one sigma for a Gaussian), else the std, else 1."""
    lo, hi = np.quantile(v, [0.158655, 0.841345])
    for s in ((hi - lo) / 2, float(np.std(v))):
        if s > 0 and np.isfinite(s):
            return float(s)
    return 1.0


#: ``centre``/``scale`` value meaning "fit it from the training hits".
AUTO = "auto"
#: An unshifted feature whose median exceeds this many spreads is refused (float32 keeps 24 bits),
FLOAT32_RESOLVE = 2.0 ** 20
#: and so is one whose inputs to the network would be around this value or more (absolute times,
#: raw mm of a detector 100 m away).
MAX_INPUT = 2.0 ** 16
#: Default features when a config gives none: the deposited charge alone.
DEFAULT_FEATURES = FeatureSpec((Feature("charge"),))
#: Default features of a training run whose dataset names none: the charge, standardised on the
#: training hits (raw ADC counts of thousands would otherwise reach the network unscaled).
FITTED_CHARGE = [["charge", AUTO, AUTO]]
#: ... and of one without a charge column either: the hit positions, standardised the same way
#: (every event has them, whatever the detector).
FITTED_POSITIONS = [["x", AUTO, AUTO], ["y", AUTO, AUTO], ["z", AUTO, AUTO]]
