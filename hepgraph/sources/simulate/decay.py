"""Decay-chain event generator: e+e- reactions at a collider's sqrt(s), with resonances.

A reaction is written in a detector preset (``reactions:`` of
``configs/detectors/drift-chamber.yaml``) as what the beams produce and how the unstable
particles decay::

    beam: {sqrt_s: 3.686, energy_spread: 0.0009, crossing_angle: 0.022}
    reactions:
      ee_psi2s_pipijpsi_ee:                      # e+e- -> psi(2S) -> pi+ pi- J/psi, J/psi -> e+e-
        produce: [psi(2S)]
        decays: {psi(2S): [pi+, pi-, J/psi(1S)], J/psi(1S): [e+, e-]}
      ee_pipimumu:                               # continuum: four-body phase space at sqrt(s)
        produce: [pi+, pi-, mu+, mu-]

- ``sqrt_s`` (GeV) is drawn per event from a Gaussian of width ``energy_spread``; the
  centre-of-mass system moves along +x with ``beta = sin(crossing_angle / 2)`` (beams
  crossing in the x-z plane). The event vertex is the simulator's beam spot.
- ``produce``: one particle is formed at rest in the centre-of-mass system with mass
  sqrt(s) (s-channel resonance); several are made by n-body phase space at sqrt(s).
- ``decays``: every particle named here decays by n-body phase space (isotropic in its
  rest frame), recursively; its mass is drawn from a relativistic Breit–Wigner with the
  PDG mass and width of the ``particle`` package, truncated to the kinematically allowed
  window. Particles not named here are final (their PDG mass).

Units: GeV, GeV/c; masses and widths come from ``particle`` in MeV and are converted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError
from hepgraph.sources.simulate import kinematics as kin
from hepgraph.sources.simulate.material import species

#: Margin (GeV) that keeps drawn masses strictly inside their kinematic window.
EPS = 1e-9
#: Longest decay chain (parent -> daughter -> ...) a reaction may hold.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Particle:
    """A particle of a reaction: PDG id, charge (e), mass and width (GeV)."""

    name: str
    pdg: int
    charge: int
    mass: float
    width: float


@dataclass(frozen=True)
class Beam:
    """The e+e- collision: centre-of-mass energy, its spread (GeV) and the crossing angle (rad)."""

    sqrt_s: float
    energy_spread: float = 0.0
    crossing_angle: float = 0.0

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Beam:
        """From the preset's ``beam`` mapping.

        Raises:
            ConfigError: a missing or non-positive ``sqrt_s``, a negative spread or angle.
        """
        try:
            b = cls(float(raw["sqrt_s"]), float(raw.get("energy_spread", 0.0)),
                    float(raw.get("crossing_angle", 0.0)))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"`beam` = `{raw}` must give sqrt_s (GeV) and optionally energy_spread "
                              "(GeV) and crossing_angle (rad)") from None
        if b.sqrt_s <= 0 or b.energy_spread < 0 or not 0 <= b.crossing_angle < np.pi:
            raise ConfigError(f"`beam` = `{raw}`: sqrt_s must be > 0, energy_spread >= 0 and "
                              "crossing_angle in [0, pi)")
        return b

    def four_momentum(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, 4) total four-momentum of the two beams per event (GeV)."""
        w = self.sqrt_s + self.energy_spread * rng.standard_normal(n) if self.energy_spread else np.full(n, self.sqrt_s)
        w = np.clip(w, 1e-9, None)
        rest = np.zeros((n, 4))
        rest[:, 0] = w
        beta = np.zeros((n, 3))
        beta[:, 0] = np.sin(0.5 * self.crossing_angle)
        return kin.boost(rest, beta)


@lru_cache(maxsize=256)
def lookup(name: str) -> Particle:
    """A particle by name or PDG id (``pi+``, ``J/psi(1S)``, ``psi(2S)``, ``443``).

    Raises:
        ConfigError: unknown to the ``particle`` package.
    """
    from particle import Particle as PDGParticle

    sp = species(name)  # raises ConfigError with the usual names
    try:
        width = float(PDGParticle.from_pdgid(sp.pdg).width or 0.0)
    except Exception:  # noqa: BLE001 - the package raises several types for missing data
        width = 0.0
    return Particle(str(name), sp.pdg, sp.charge, sp.mass * 1e-3, width * 1e-3)


@dataclass(frozen=True)
class Reaction:
    """What the beams produce and how the unstable particles decay (see the module docstring)."""

    name: str
    produce: tuple[str, ...]
    decays: Mapping[str, tuple[str, ...]]

    @classmethod
    def parse(cls, name: str, raw: Any) -> Reaction:
        """From one entry of the preset's ``reactions`` mapping; every name, charge and chain
        is checked here.

        Raises:
            ConfigError: bad syntax, unknown particle, charge not conserved, a chain that
                loops, or a decay below its threshold.
        """
        if not isinstance(raw, Mapping) or "produce" not in raw or set(raw) - {"produce", "decays"}:
            raise ConfigError(f"reaction `{name}` must be a mapping with `produce: [particles]` and "
                              "optionally `decays: {parent: [daughters]}`")
        produce = raw["produce"]
        decays = raw.get("decays") or {}
        if isinstance(produce, str) or not isinstance(produce, (list, tuple)) or not produce:
            raise ConfigError(f"reaction `{name}`: `produce` must be a non-empty list of particle names")
        if not isinstance(decays, Mapping):
            raise ConfigError(f"reaction `{name}`: `decays` must map a parent to its list of daughters")
        out = {}
        for parent, daughters in decays.items():
            if isinstance(daughters, str) or not isinstance(daughters, (list, tuple)) or len(daughters) < 2:
                raise ConfigError(f"reaction `{name}`: `decays.{parent}` must list at least two daughters")
            out[str(parent)] = tuple(str(d) for d in daughters)
        r = cls(str(name), tuple(str(p) for p in produce), out)
        r.check()
        return r

    def check(self) -> None:
        """Charges, chain depth and thresholds (raises ConfigError)."""
        q = sum(lookup(p).charge for p in self.produce)
        if q != 0:
            raise ConfigError(f"reaction `{self.name}`: `produce` has total charge `{q}`; e+e- "
                              "collisions make neutral final states")
        for parent, daughters in self.decays.items():
            qd = sum(lookup(d).charge for d in daughters)
            if lookup(parent).charge != qd:
                raise ConfigError(f"reaction `{self.name}`: `{parent}` -> {' '.join(daughters)} does not "
                                  "conserve charge")
            if self.threshold(parent) <= 0:
                raise ConfigError(f"reaction `{self.name}`: `{parent}` has no decay threshold")

    def threshold(self, name: str, depth: int = 0) -> float:
        """Lowest mass (GeV) a particle of the chain can have: its decay products' thresholds
        summed, or its PDG mass when final.

        Raises:
            ConfigError: the chain loops (deeper than :data:`MAX_DEPTH`).
        """
        if depth > MAX_DEPTH:
            raise ConfigError(f"reaction `{self.name}`: the decay chain of `{name}` loops or is deeper "
                              f"than {MAX_DEPTH} steps")
        if name not in self.decays:
            return lookup(name).mass
        return sum(self.threshold(d, depth + 1) for d in self.decays[name])

    def final_state(self) -> list[str]:
        """Names of the final particles (each decay replaced by its daughters), in order."""
        def expand(name: str) -> list[str]:
            return [x for d in self.decays[name] for x in expand(d)] if name in self.decays else [name]

        return [x for p in self.produce for x in expand(p)]


@dataclass
class Generated:
    """Final-state particles of ``n`` events (rows ordered by event, then final-state order).

    Attributes:
        event: (M,) event index.
        pdg, charge: (M,) int32.
        mass: (M,) GeV.
        p4: (M, 4) lab four-momenta (E, px, py, pz), GeV.
        beam: (n, 4) total four-momentum of the beams per event, GeV.
    """

    event: np.ndarray
    pdg: np.ndarray
    charge: np.ndarray
    mass: np.ndarray
    p4: np.ndarray
    beam: np.ndarray


def _masses(rng: np.random.Generator, reaction: Reaction, names: list[str], total: np.ndarray) -> np.ndarray:
    """(n, k) masses of sibling particles made from ``total`` (n,) GeV: final ones at their PDG
    mass, unstable ones, in order, from their Breit–Wigner within what the others leave (the
    masses are drawn from their line shapes, not weighted by the phase space they leave).
    """
    m = np.tile(np.array([reaction.threshold(x) for x in names]), (total.size, 1))
    for j, x in enumerate(names):
        if x in reaction.decays:
            p = lookup(x)
            hi = total - (m.sum(1) - m[:, j]) - EPS
            m[:, j] = kin.breit_wigner(rng, p.mass, p.width, total.size, m[:, j] + EPS, hi)
    return m


def _decay(rng: np.random.Generator, reaction: Reaction, names: list[str], p4: np.ndarray,
           out: list[tuple[str, np.ndarray, np.ndarray]], event: np.ndarray) -> None:
    """Append the final particles of ``names`` (lab four-momenta (n, k, 4)) to ``out``, decaying
    the unstable ones recursively.
    """
    for j, x in enumerate(names):
        if x not in reaction.decays:
            out.append((x, event, p4[:, j]))
            continue
        daughters = list(reaction.decays[x])
        m = kin.mass(p4[:, j])
        rest = kin.phase_space(rng, m, _masses(rng, reaction, daughters, m))
        lab = kin.boost(rest, p4[:, j, 1:] / p4[:, j, :1])
        _decay(rng, reaction, daughters, lab, out, event)


def generate(rng: np.random.Generator, reaction: Reaction, beam: Beam, n: int) -> Generated:
    """``n`` events of one reaction (see the module docstring).

    Raises:
        ConfigError: sqrt(s) below the reaction's threshold.
    """
    b4 = beam.four_momentum(rng, n)
    w = kin.mass(b4)
    thr = sum(reaction.threshold(p) for p in reaction.produce)
    if n and (w <= thr).any():
        raise ConfigError(f"reaction `{reaction.name}` needs sqrt_s above {thr:.4f} GeV; the beam gives "
                          f"{float(w.min()):.4f} GeV (sqrt_s {beam.sqrt_s}, spread {beam.energy_spread})")
    names = list(reaction.produce)
    if len(names) == 1:  # s-channel formation: the particle is the whole centre-of-mass system
        p4 = b4[:, None, :].copy()
    else:
        rest = kin.phase_space(rng, w, _masses(rng, reaction, names, w))
        p4 = kin.boost(rest, b4[:, 1:] / b4[:, :1])
    parts: list[tuple[str, np.ndarray, np.ndarray]] = []
    _decay(rng, reaction, names, p4, parts, np.arange(n))
    k = len(parts)
    event = np.stack([e for _, e, _ in parts], 1).reshape(-1)      # (n, k) -> event-major rows
    mom = np.stack([v for _, _, v in parts], 1).reshape(-1, 4)
    info = [lookup(x) for x, _, _ in parts]
    return Generated(
        event=event.astype(np.int64),
        pdg=np.tile(np.array([p.pdg for p in info], np.int32), n),
        charge=np.tile(np.array([p.charge for p in info], np.int32), n),
        mass=np.tile(np.array([p.mass for p in info]), n),
        p4=mom if k else np.zeros((0, 4)),
        beam=b4,
    )


def parse_reactions(raw: Mapping[str, Any] | None) -> dict[str, Reaction]:
    """All reactions of a preset's ``reactions`` mapping, checked."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("`reactions` must map reaction names to {produce: [...], decays: {...}}")
    return {str(k): Reaction.parse(str(k), v) for k, v in raw.items()}
