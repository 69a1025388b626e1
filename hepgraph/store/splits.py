"""Deterministic train/val/test splits by a stable hash of ``event_id``.

The split of an event depends only on its ``event_id`` and the fractions (not on the
seed, the shard layout or the number of workers), so rebuilding a dataset or adding
events never moves an event from ``train`` to ``test``.

>>> import numpy as np
>>> codes = split_codes(np.arange(10_000), (0.7, 0.15, 0.15))
>>> [round(float((codes == i).mean()), 2) for i in range(3)]
[0.7, 0.15, 0.15]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepgraph.errors import ConfigError

#: Split names, in code order.
SPLIT_NAMES = ("train", "val", "test")

#: Default fractions (70/15/15, as in the HA-TPC work).
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)

#: Recorded in the manifest so that other tools can recompute the split.
HASH_METHOD = "splitmix64(uint64(event_id)) >> 11, scaled to [0, 1); split by cumulative fractions"


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def event_hash_unit(event_id: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per event, a pure function of ``event_id``.

    Shapes:
        - **event_id:** (B,) int64  - **output:** (B,) float64
    """
    with np.errstate(over="ignore"):
        h = _splitmix64(np.asarray(event_id, dtype=np.int64).view(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate three non-negative fractions summing to 1.

    Raises:
        ConfigError: wrong count, a negative value, or a sum other than 1.
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ConfigError(
            f"split fractions `{list(fractions)}` must be three non-negative numbers summing to 1, "
            "e.g. [0.7, 0.15, 0.15]"
        )
    return fr  # type: ignore[return-value]


def split_codes(event_id: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> np.ndarray:
    """Split code per event: 0 = train, 1 = val, 2 = test.

    Shapes:
        - **event_id:** (B,)  - **output:** (B,) int8
    """
    fr = check_fractions(fractions)
    u = event_hash_unit(event_id)
    edges = np.cumsum(fr)[:2]
    return np.searchsorted(edges, u, side="right").astype(np.int8)


def split_index(name: str) -> int:
    """Code of a split name.

    Raises:
        ConfigError: unknown split name.
    """
    if name not in SPLIT_NAMES:
        raise ConfigError(f"unknown split `{name}`; use one of {', '.join(SPLIT_NAMES)}")
    return SPLIT_NAMES.index(name)


def split_record(event_id: np.ndarray, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> dict:
    """The manifest's ``splits`` entry: fractions, names, method and event counts."""
    codes = split_codes(event_id, fractions)
    counts = np.bincount(codes, minlength=3)
    return {
        "fractions": list(check_fractions(fractions)),
        "names": list(SPLIT_NAMES),
        "method": HASH_METHOD,
        "counts": {n: int(c) for n, c in zip(SPLIT_NAMES, counts)},
    }
