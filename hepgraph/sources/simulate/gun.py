"""The particle gun: species, momenta, directions and vertices, sampled in bulk.

Every function takes the block's generator and returns arrays for ``n`` particles, so a
block of events is drawn with a handful of numpy calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepgraph.errors import ConfigError
from hepgraph.sources.simulate.material import species


def species_table(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pdg int32, mass MeV float64, charge int32) arrays for species names.

    Raises:
        ConfigError: a name is not a known particle.
    """
    sp = [species(n) for n in names]
    return (
        np.array([s.pdg for s in sp], dtype=np.int32),
        np.array([s.mass for s in sp], dtype=np.float64),
        np.array([s.charge for s in sp], dtype=np.int32),
    )


def choose(rng: np.random.Generator, n: int, weights: Sequence[float] | None, k: int) -> np.ndarray:
    """``n`` indices in ``range(k)`` drawn with (unnormalised) ``weights`` (uniform if None).

    Raises:
        ConfigError: weights of the wrong length, negative, or all zero.
    """
    if weights is None:
        return rng.integers(0, k, size=n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (k,) or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(f"weights `{list(weights)}` must be {k} non-negative numbers, not all 0")
    return rng.choice(k, size=n, p=w / w.sum())


def uniform(rng: np.random.Generator, lo: np.ndarray | float, hi: np.ndarray | float, n: int) -> np.ndarray:
    """Uniform values in [lo, hi] (per-particle bounds allowed)."""
    return lo + (np.asarray(hi) - np.asarray(lo)) * rng.random(n)


def log_uniform(rng: np.random.Generator, lo: np.ndarray | float, hi: np.ndarray | float, n: int) -> np.ndarray:
    """Values with a flat distribution in log (a momentum spectrum that favours low p)."""
    llo, lhi = np.log(np.asarray(lo, dtype=np.float64)), np.log(np.asarray(hi, dtype=np.float64))
    return np.exp(llo + (lhi - llo) * rng.random(n))


def isotropic(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` unit vectors uniform on the sphere. Shapes: (n, 3)."""
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def directions(
    rng: np.random.Generator, n: int, theta: Sequence[float], phi: Sequence[float]
) -> np.ndarray:
    """Unit vectors with cos(theta) uniform in [cos theta_max, cos theta_min] and phi uniform.

    Args:
        theta: [min, max] polar angle (rad) from +z.
        phi: [min, max] azimuth (rad).

    Shapes: (n, 3).
    """
    c_lo, c_hi = np.cos(theta[1]), np.cos(theta[0])
    cos_t = rng.uniform(c_lo, c_hi, n)
    ph = rng.uniform(phi[0], phi[1], n)
    sin_t = np.sqrt(np.clip(1.0 - cos_t**2, 0.0, None))
    return np.stack([sin_t * np.cos(ph), sin_t * np.sin(ph), cos_t], axis=1)


def vertices(rng: np.random.Generator, n: int, box: Sequence[Sequence[float]]) -> np.ndarray:
    """``n`` points uniform in an axis-aligned box ``[[xmin, xmax], [ymin, ymax], [zmin, zmax]]`` (mm)."""
    lo = np.array([b[0] for b in box], dtype=np.float64)
    hi = np.array([b[1] for b in box], dtype=np.float64)
    return lo + (hi - lo) * rng.random((n, 3))


def gaussian_vertices(rng: np.random.Generator, n: int, sigma: Sequence[float]) -> np.ndarray:
    """``n`` points from a centred Gaussian with per-axis ``sigma`` (mm)."""
    return rng.standard_normal((n, 3)) * np.asarray(sigma, dtype=np.float64)


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a *sorted* integer array."""
    n = group.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    idx = np.arange(n)
    return idx - np.repeat(starts, np.diff(np.r_[starts, n]))
