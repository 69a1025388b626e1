"""Quality of generated detector hits: distance to the ideal helix and distribution distances.

The fast-simulation study of the seed (conditional GANs replacing GEANT for the ALICE TPC)
scores a generator by the distance of its clusters to the ideal helix of the particle it
was conditioned on: GEANT3 itself gives 1.20 mm (the smearing and multiple scattering
of a real simulation), its condDCGAN+ 136.8 mm. :func:`helix_distance` computes that
distance for any cluster and particle; :func:`wasserstein` compares two 1D distributions
(per-cluster residuals, dE/dx, clusters per track) between generator and simulator.

Conventions are those of :mod:`hepgraph.sources.simulate.helix`: positions mm, momenta
GeV, field T along ``field_axis``; positive charges turn clockwise seen from the field's
tip.
"""

from __future__ import annotations

import numpy as np

from hepgraph.constants import C_CURV
from hepgraph.errors import ConfigError

__all__ = ["helix_distance", "helix_points", "to_field_frame", "wasserstein"]

#: Proper rotations taking the field axis to the local z axis (x -> (z, -y, x) as sim-pad-tpc).
FRAMES = {
    "z": np.eye(3),
    "x": np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]),
    "y": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
}


def to_field_frame(v: np.ndarray, field_axis: str = "z") -> np.ndarray:
    """(..., 3) vectors in the frame where the field points along +z.

    Raises:
        ConfigError: ``field_axis`` is not x, y or z.
    """
    if field_axis not in FRAMES:
        raise ConfigError(f"field axis `{field_axis}` is not one of x, y, z")
    return np.asarray(v, np.float64) @ FRAMES[field_axis].T


def _helix(vertex: np.ndarray, mom: np.ndarray, q: float, b: float, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """Position, first and second derivative at transverse path lengths s (field frame)."""
    pt = float(np.hypot(mom[0], mom[1]))
    phi0 = float(np.arctan2(mom[1], mom[0]))
    cot = mom[2] / max(pt, 1e-12)
    omega = -np.sign(q * b) * C_CURV * abs(b) / max(pt, 1e-12) * 1e-3          # 1/mm, signed
    s = np.asarray(s, np.float64)
    if abs(omega) < 1e-12:
        u = np.array([np.cos(phi0), np.sin(phi0)])
        pos = np.stack([vertex[0] + s * u[0], vertex[1] + s * u[1], vertex[2] + s * cot], -1)
        d1 = np.broadcast_to(np.array([u[0], u[1], cot]), pos.shape)
        return pos, d1, np.zeros_like(pos)
    ph = phi0 + omega * s
    pos = np.stack([vertex[0] + (np.sin(ph) - np.sin(phi0)) / omega,
                    vertex[1] - (np.cos(ph) - np.cos(phi0)) / omega, vertex[2] + s * cot], -1)
    d1 = np.stack([np.cos(ph), np.sin(ph), np.full_like(ph, cot)], -1)
    d2 = np.stack([-omega * np.sin(ph), omega * np.cos(ph), np.zeros_like(ph)], -1)
    return pos, d1, d2


def helix_points(vertex: np.ndarray, mom: np.ndarray, q: float, field_T: float, s: np.ndarray,
                 field_axis: str = "z") -> np.ndarray:
    """Points of the ideal helix (no material) at transverse path lengths ``s`` (mm).

    Shapes:
        - **vertex, mom:** (3,) mm, GeV  - **s:** (S,) -> (S, 3) mm (detector frame)
    """
    v, p = to_field_frame(vertex, field_axis), to_field_frame(mom, field_axis)
    pos = _helix(v, p, q, field_T, s)[0]
    return pos @ FRAMES[field_axis]                                 # back: R^-1 = R^T


def helix_distance(points: np.ndarray, vertex: np.ndarray, mom: np.ndarray, q: float, field_T: float,
                   field_axis: str = "z", s_max: float | None = None, step: float = 5.0) -> np.ndarray:
    """3D distance (mm) of each point to the ideal helix of a particle.

    The closest helix point is found on a grid of transverse path lengths (``step`` mm,
    from 0 to ``s_max``: default 1.5 times the largest distance of a point to the vertex)
    and refined by Newton steps on ``(h(s) - p) . h'(s) = 0``.

    Args:
        points: (M, 3) positions (mm).
        vertex: (3,) production point (mm).
        mom: (3,) momentum at the vertex (GeV).
        q: charge (e).
        field_T: field (T) along ``field_axis``.
        field_axis: ``x``, ``y`` or ``z``.
        s_max: longest transverse path searched (mm).
        step: grid step (mm).

    Returns:
        (M,) distances (mm).
    """
    pts = to_field_frame(np.asarray(points, np.float64).reshape(-1, 3), field_axis)
    if pts.shape[0] == 0:
        return np.zeros(0)
    v, p = to_field_frame(vertex, field_axis), to_field_frame(mom, field_axis)
    if s_max is None:
        s_max = 1.5 * float(np.max(np.linalg.norm(pts - v, axis=1))) + step
    grid = np.arange(0.0, s_max + step, step)
    hp = _helix(v, p, q, field_T, grid)[0]                                        # (S, 3)
    d2 = ((pts[:, None, :] - hp[None, :, :]) ** 2).sum(-1)                          # (M, S)
    s = grid[np.argmin(d2, axis=1)]
    for _ in range(6):
        pos, d1, dd = _helix(v, p, q, field_T, s)
        r = pos - pts
        f = (r * d1).sum(-1)
        fp = (d1 * d1).sum(-1) + (r * dd).sum(-1)
        s = np.clip(s - f / np.where(np.abs(fp) > 1e-12, fp, 1e-12), 0.0, None)
    return np.linalg.norm(_helix(v, p, q, field_T, s)[0] - pts, axis=1)


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """1D Wasserstein-1 distance between two samples (same unit as the values; NaN if one
    is empty)."""
    from scipy.stats import wasserstein_distance

    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(wasserstein_distance(a, b))
