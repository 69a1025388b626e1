"""Materials and the passage of charged particles through them.

- Mean energy loss: the Bethe–Bloch formula with the Sternheimer density effect (PDG
  Review "Passage of particles through matter", eq. 34.5 and 34.7).
- CSDA range: the integral of ``1 / (dE/dx)`` over kinetic energy, tabulated per mass.
- Multiple scattering: the Highland formula (PDG eq. 34.15)

  .. math::
      \\theta_0 = \\frac{13.6\\,\\mathrm{MeV}}{\\beta c p} z \\sqrt{x/X_0}
      \\left(1 + 0.038 \\ln\\frac{x z^2}{X_0 \\beta^2}\\right)

Particle masses and charges come from the ``particle`` package (:func:`species`).
Units: energies MeV, lengths cm inside this module unless a name says ``_mm``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hepgraph.constants import BETHE_K, ELECTRON_MASS_GEV
from hepgraph.errors import ConfigError

ME_MEV = ELECTRON_MASS_GEV * 1e3


@dataclass(frozen=True)
class Material:
    """A homogeneous material.

    Attributes:
        name: preset name.
        density: g/cm^3.
        z_over_a: <Z/A> (mol/g).
        i_mev: mean excitation energy (MeV).
        x0_cm: radiation length (cm).
        stern: Sternheimer density-effect parameters (-C, x0, x1, a, k).
    """

    name: str
    density: float
    z_over_a: float
    i_mev: float
    x0_cm: float
    stern: tuple[float, float, float, float, float]


#: Materials known to the simulators (PDG atomic and nuclear properties tables).
MATERIALS: dict[str, Material] = {
    "liquid-argon": Material("liquid-argon", 1.396, 18 / 39.948, 188.0e-6, 14.0,
                             (5.2146, 0.2009, 3.0, 0.1956, 3.0)),
    "argon-gas": Material("argon-gas", 1.662e-3, 18 / 39.948, 188.0e-6, 11762.0,
                          (11.948, 1.7635, 4.4855, 0.19714, 2.9618)),
    # He/iC4H10 90/10 by volume (BESIII-like drift chamber gas); X0 ~ 807 m.
    "helium-isobutane": Material("helium-isobutane", 3.97e-4, 0.5, 41.8e-6, 80700.0,
                                 (11.139, 2.2017, 3.6122, 0.13443, 5.8347)),
    # Ar/CF4/iC4H10 95/3/2 (T2K TPC gas); X0 ~ 110 m.
    "t2k-gas": Material("t2k-gas", 1.72e-3, 0.45, 185.0e-6, 11000.0,
                        (11.948, 1.7635, 4.4855, 0.19714, 2.9618)),
}


def material(name: str) -> Material:
    """Material by name.

    Raises:
        ConfigError: unknown name (lists the known ones).
    """
    try:
        return MATERIALS[name]
    except KeyError:
        raise ConfigError(
            f"unknown material `{name}`; known: {', '.join(sorted(MATERIALS))}"
        ) from None


@dataclass(frozen=True)
class Species:
    """A particle species (PDG id, mass in MeV, charge in e), from the ``particle`` package."""

    name: str
    pdg: int
    mass: float
    charge: int


# PDG ids of the species the simulators use; their names come from the package itself.
# ``Particle.from_name`` scans the whole table (~0.3 s per call, 1.2 s for the five
# LArTPC species in every worker process); ``from_pdgid`` is a dictionary lookup.
_COMMON_PDG = (11, -11, 13, -13, 15, -15, 22, 111, 211, -211, 321, -321, 2212, -2212, 2112)


@functools.lru_cache(maxsize=1)
def _common_names() -> dict[str, int]:
    """``{package name: PDG id}`` for the common species (``e-``, ``mu+``, ``pi+``, ``p``...)."""
    from particle import Particle

    return {str(Particle.from_pdgid(pdg).name): pdg for pdg in _COMMON_PDG}


@functools.lru_cache(maxsize=None)
def species(name: str) -> Species:
    """Look a species up by name (``e-``, ``mu+``, ``pi+``, ``p``, ``gamma``) or PDG id.

    Raises:
        ConfigError: the name is not a particle the ``particle`` package knows.
    """
    from particle import Particle
    from particle.particle.particle import ParticleNotFound

    try:
        if str(name).lstrip("-").isdigit():
            p = Particle.from_pdgid(int(name))
        elif str(name) in _common_names():
            p = Particle.from_pdgid(_common_names()[str(name)])
        else:
            p = Particle.from_name(str(name))
    except (ParticleNotFound, ValueError, Exception) as err:  # noqa: BLE001 - package raises several
        raise ConfigError(
            f"unknown particle `{name}`; use names like e-, e+, mu-, mu+, pi+, pi-, p, gamma"
        ) from err
    return Species(str(name), int(p.pdgid), float(p.mass or 0.0), int(p.charge or 0))


def _density_effect(x: np.ndarray, mat: Material) -> np.ndarray:
    """Sternheimer delta(beta gamma) with x = log10(beta gamma)."""
    c, x0, x1, a, k = mat.stern
    ln10 = np.log(10.0)
    d = np.where(x >= x1, 2 * ln10 * x - c, 0.0)
    mid = (x >= x0) & (x < x1)
    return np.where(mid, 2 * ln10 * x - c + a * np.clip(x1 - x, 0, None) ** k, d)


def bethe_bloch(kinetic: np.ndarray, mass: float, mat: Material, z: int = 1) -> np.ndarray:
    """Mean energy loss -dE/dx (MeV/cm) of a particle of ``mass`` (MeV) and ``kinetic`` (MeV).

    Shapes:
        - **kinetic:** (N,) -> (N,)
    """
    t = np.asarray(kinetic, dtype=np.float64)
    gamma = 1.0 + t / mass
    bg2 = gamma**2 - 1.0
    beta2 = bg2 / gamma**2
    ratio = ME_MEV / mass
    tmax = 2 * ME_MEV * bg2 / (1 + 2 * gamma * ratio + ratio**2)
    delta = _density_effect(0.5 * np.log10(np.maximum(bg2, 1e-30)), mat)
    arg = 2 * ME_MEV * bg2 * tmax / mat.i_mev**2
    bracket = 0.5 * np.log(np.maximum(arg, 1.0)) - beta2 - delta / 2
    dedx = BETHE_K * z**2 * mat.z_over_a / beta2 * bracket
    return np.maximum(dedx, 0.0) * mat.density


def mip_dedx(mat: Material, mass: float = 105.6583755) -> float:
    """Minimum of the mean dE/dx (MeV/cm) for a particle of ``mass`` (default: muon)."""
    t = mass * np.geomspace(0.5, 50.0, 2000)
    return float(bethe_bloch(t, mass, mat).min())


@functools.lru_cache(maxsize=64)
def range_table(mass: float, mat_name: str) -> tuple[np.ndarray, np.ndarray]:
    """CSDA range table for a particle of ``mass`` (MeV): (kinetic MeV, range cm), both rising.

    Below the first grid point (0.5 MeV scaled by mass / proton mass) the stopping power is
    taken as a power law S ~ T^-0.75, whose range integral is T / (1.75 S).
    """
    mat = material(mat_name)
    t0 = max(0.5 * mass / 938.272, 0.01)
    t = np.geomspace(t0, 1.0e5, 4000)
    s = bethe_bloch(t, mass, mat)
    inv = 1.0 / s
    r = np.concatenate([[0.0], np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(t))])
    r += t0 / (1.75 * s[0])
    return t, r


def csda_range_cm(kinetic: np.ndarray, mass: float, mat: Material) -> np.ndarray:
    """CSDA range (cm) of particles with ``kinetic`` energy (MeV)."""
    t, r = range_table(mass, mat.name)
    k = np.asarray(kinetic, dtype=np.float64)
    small = k < t[0]
    out = np.interp(k, t, r)
    # Power-law tail below the table: R ~ T^1.75.
    return np.where(small, r[0] * (np.maximum(k, 0) / t[0]) ** 1.75, out)


def kinetic_from_range(residual_cm: np.ndarray, mass: float, mat: Material) -> np.ndarray:
    """Inverse of :func:`csda_range_cm`: kinetic energy (MeV) with ``residual_cm`` range left."""
    t, r = range_table(mass, mat.name)
    rr = np.maximum(np.asarray(residual_cm, dtype=np.float64), 0.0)
    out = np.interp(rr, r, t)
    return np.where(rr < r[0], t[0] * (rr / r[0]) ** (1 / 1.75), out)


def highland(p_mev: np.ndarray, beta: np.ndarray, x_over_x0: np.ndarray | float, z: int = 1) -> np.ndarray:
    """Highland theta_0 (rad): the rms of the projected scattering angle.

    Args:
        p_mev: momentum (MeV/c).
        beta: velocity v/c.
        x_over_x0: thickness in radiation lengths.
        z: charge number.
    """
    x = np.asarray(x_over_x0, dtype=np.float64)
    corr = 1.0 + 0.038 * np.log(np.maximum(x * z**2 / np.asarray(beta) ** 2, 1e-12))
    return 13.6 / (np.asarray(beta) * np.asarray(p_mev)) * abs(z) * np.sqrt(x) * np.maximum(corr, 0.0)


def scatter(rng: np.random.Generator, direction: np.ndarray, theta0: np.ndarray) -> np.ndarray:
    """Deflect unit vectors by two independent Gaussian projected angles of rms ``theta0``.

    Shapes:
        - **direction:** (N, 3) unit vectors; **theta0:** (N,) -> (N, 3) unit vectors.
    """
    e1, e2 = orthonormal_basis(direction)
    n = direction.shape[0]
    a = rng.standard_normal(n) * theta0
    b = rng.standard_normal(n) * theta0
    # Exact rotation by the space angle with projections (a, b) (small-angle projections).
    tx, ty = np.tan(a), np.tan(b)
    d = direction + tx[:, None] * e1 + ty[:, None] * e2
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def orthonormal_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors orthogonal to each row of ``d`` (and to each other).

    Shapes:
        - **d:** (N, 3) -> two (N, 3)
    """
    ref = np.where(np.abs(d[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
    e1 = np.cross(d, ref)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(d, e1)
    return e1, e2


def landau_factor(
    rng: np.random.Generator, n: int, shape: float = 4.0, dtype: type = np.float64
) -> np.ndarray:
    """Multiplicative energy-loss fluctuation with mean 1 (Gamma(shape)/shape, right-skewed).

    For a small integer ``shape`` k, Gamma(k) is drawn exactly as ``-log`` of a product of
    k uniforms (3-4x faster than numpy's gamma sampler on float32).
    """
    k = int(shape)
    if k == shape and 1 <= k <= 4 and dtype is not np.float64:
        u = rng.random((k, n), dtype=dtype)
        np.subtract(dtype(1), u, out=u)                      # (0, 1]: log is finite
        prod = np.prod(u, axis=0) if k > 1 else u[0]
        out = np.log(prod)
        out *= dtype(-1.0 / shape)
        return out
    if dtype is np.float64:
        return rng.gamma(shape, 1.0 / shape, size=n)
    return rng.standard_gamma(shape, size=n, dtype=dtype) / dtype(shape)
