"""Relativistic kinematics for event generators: four-vectors, boosts, phase space, line shapes.

Four-vectors are ``(..., 4)`` float64 arrays ``(E, px, py, pz)`` in GeV; every function
works on ``N`` events at once.

- :func:`boost`: Lorentz boost by a velocity ``beta`` (the frame moving with ``-beta``
  sees the vector boosted by ``+beta``).
- :func:`phase_space`: ``k``-body decays of masses ``M`` distributed uniformly in Lorentz-
  invariant phase space (GENBOD, F. James, CERN 68-15: sequential two-body splittings
  weighted by their momenta, unweighted by accept-reject against the bound of ROOT's
  ``TGenPhaseSpace``), isotropic in the parent's rest frame.
- :func:`breit_wigner`: relativistic Breit–Wigner masses (constant width) truncated to a
  kinematic window, drawn by inverting the cumulative distribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepgraph.errors import ConfigError
from hepgraph.sources.simulate.gun import isotropic


def mass(p4: np.ndarray) -> np.ndarray:
    """Invariant mass (GeV) of four-vectors; negative mass squared (rounding) gives 0.

    Shapes: (..., 4) -> (...).
    """
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    return np.sqrt(np.clip(m2, 0.0, None))


def two_body_momentum(m: np.ndarray | float, m1: np.ndarray | float, m2: np.ndarray | float) -> np.ndarray:
    """Momentum (GeV) of each daughter of a two-body decay ``m -> m1 m2`` in the parent frame
    (0 below threshold).
    """
    m, m1, m2 = (np.asarray(v, np.float64) for v in (m, m1, m2))
    lam = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
    return np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * np.maximum(m, 1e-300))


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors by velocities ``beta`` (|beta| < 1).

    Shapes:
        - **p4:** (N, ..., 4)  - **beta:** (N, 3)  - **output:** (N, ..., 4)
    """
    beta = np.asarray(beta, np.float64)
    extra = p4.ndim - 2
    b = beta.reshape(beta.shape[0], *([1] * extra), 3)
    b2 = (b * b).sum(-1)
    gamma = 1.0 / np.sqrt(np.clip(1.0 - b2, 1e-300, None))
    bp = (b * p4[..., 1:]).sum(-1)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    out = np.empty_like(p4)
    out[..., 0] = gamma * (p4[..., 0] + bp)
    out[..., 1:] = p4[..., 1:] + (coef * bp + gamma * p4[..., 0])[..., None] * b
    return out


def _genbod_weights(m: np.ndarray, masses: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-system masses (N, k) and weights (N,) of GENBOD for uniforms ``r`` (N, k-2) and
    daughter masses (N, k).
    """
    n, k = masses.shape
    t = m - masses.sum(1)
    cum = np.cumsum(masses, axis=1)
    inner = np.concatenate([np.zeros((n, 1)), np.sort(r, axis=1), np.ones((n, 1))], axis=1)
    sub = cum + inner * t[:, None]                              # M_1 = m_1, ..., M_k = M
    w = np.ones(n)
    for j in range(1, k):
        w *= two_body_momentum(sub[:, j], sub[:, j - 1], masses[:, j])
    return sub, w


def _genbod_bound(m: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Upper bound of the GENBOD weight per event (ROOT ``TGenPhaseSpace::SetDecay``);
    masses (N, k).
    """
    t = m - masses.sum(1)
    emmax = t + masses[:, 0]
    emmin = np.zeros_like(m)
    w = np.ones_like(m)
    for j in range(1, masses.shape[1]):
        emmin = emmin + masses[:, j - 1]
        emmax = emmax + masses[:, j]
        w *= two_body_momentum(emmax, emmin, masses[:, j])
    return w


def phase_space(rng: np.random.Generator, m: np.ndarray, masses: Sequence[float] | np.ndarray) -> np.ndarray:
    """Momenta of ``k`` daughters of parents of masses ``m`` (GeV), at rest, uniform in phase space.

    Args:
        rng: generator.
        m: (N,) parent masses (GeV), each above the sum of ``masses``.
        masses: (k,) or (N, k) daughter masses (GeV), k >= 2.

    Returns:
        (N, k, 4) four-momenta in the parent's rest frame (sum = (m, 0, 0, 0)).

    Raises:
        ConfigError: fewer than two daughters, or a parent below threshold.
    """
    m = np.asarray(m, np.float64).reshape(-1)
    n = m.size
    masses = np.asarray(masses, np.float64)
    k = masses.shape[-1] if masses.ndim else 1
    if k < 2:
        raise ConfigError(f"a phase-space decay needs at least two daughters, got `{k}`")
    masses = np.broadcast_to(masses, (n, k))
    bad = m <= masses.sum(1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"a parent of mass `{m[i]:.6g}` GeV cannot decay into particles of "
                          f"total mass `{masses[i].sum():.6g}` GeV")
    sub = np.zeros((n, k))
    todo = np.arange(n)
    wmax = _genbod_bound(m, masses)
    while todo.size:  # accept-reject: keep each trial with probability w / w_max
        s, w = _genbod_weights(m[todo], masses[todo], rng.random((todo.size, max(k - 2, 0))))
        acc = rng.random(todo.size) * wmax[todo] <= w
        sub[todo[acc]] = s[acc]
        todo = todo[~acc]
    # Build the daughters from the innermost pair outwards: in the frame of sub-system j,
    # daughter j and sub-system j-1 are back to back with momentum q_j, isotropic.
    out = np.zeros((n, k, 4))
    q = two_body_momentum(sub[:, 1], sub[:, 0], masses[:, 1])
    d = isotropic(rng, n) * q[:, None]
    out[:, 0, 0], out[:, 0, 1:] = np.sqrt(masses[:, 0] ** 2 + q * q), d
    out[:, 1, 0], out[:, 1, 1:] = np.sqrt(masses[:, 1] ** 2 + q * q), -d
    for j in range(2, k):
        q = two_body_momentum(sub[:, j], sub[:, j - 1], masses[:, j])
        d = isotropic(rng, n) * q[:, None]
        e_sub = np.sqrt(sub[:, j - 1] ** 2 + q * q)
        out[:, :j] = boost(out[:, :j], -d / e_sub[:, None])   # sub-system moves along -d
        out[:, j, 0], out[:, j, 1:] = np.sqrt(masses[:, j] ** 2 + q * q), d
    return out


def breit_wigner(rng: np.random.Generator, m0: float, width: float, n: int, lo: np.ndarray | float,
                 hi: np.ndarray | float) -> np.ndarray:
    """Masses (GeV) from a relativistic Breit–Wigner ``1 / ((s - m0^2)^2 + m0^2 width^2)`` in
    ``s = m^2``, truncated to ``[lo, hi]`` (per-event bounds allowed); ``width = 0`` gives ``m0``.

    Raises:
        ConfigError: an empty window, or a zero-width particle outside its window.
    """
    lo = np.broadcast_to(np.asarray(lo, np.float64), (n,))
    hi = np.broadcast_to(np.asarray(hi, np.float64), (n,))
    if (hi < lo).any():
        raise ConfigError(f"no mass window for a resonance of mass `{m0}` GeV: the available energy "
                          "is below the mass of its decay products")
    if width <= 0:
        if n and ((m0 < lo) | (m0 > hi)).any():
            raise ConfigError(f"a particle of mass `{m0}` GeV and no width does not fit in the available "
                              "energy; raise sqrt_s or give it a width")
        return np.full(n, float(m0))
    g = m0 * width
    a = np.arctan((lo * lo - m0 * m0) / g)
    b = np.arctan((hi * hi - m0 * m0) / g)
    s = m0 * m0 + g * np.tan(a + (b - a) * rng.random(n))
    return np.clip(np.sqrt(np.clip(s, 0.0, None)), lo, hi)
