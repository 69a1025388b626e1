"""Shared machinery of the tracker simulators: helix propagation with multiple scattering.

Two ways to propagate a block of tracks through detector surfaces:

- :func:`plane_hits` (and the cylinder equivalent in the drift chamber): the crossings of
  every track with every surface at once (closed-form helix intersections), plus the
  small-angle displacements of thin scatterers (:func:`scattering_offsets`). This is what
  the simulators use: no Python loop at all.
- :func:`propagate`: surface by surface, with an exact rotation of the momentum by a
  Highland kick at each surface (a Python loop over surfaces, vectorised over tracks);
  the reference the linearised version is checked against, and the tool for large angles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hepgraph.sources.simulate import helix
from hepgraph.sources.simulate.draws import normal32
from hepgraph.sources.simulate.helix import TrackState
from hepgraph.sources.simulate.material import highland, scatter


@dataclass
class Crossings:
    """One row per (track, surface) crossing.

    Attributes:
        track: (H,) row of the track in the propagated batch.
        surface: (H,) surface index.
        pos: (H, 3) mm crossing point.
        mom: (H, 3) GeV momentum at the crossing (before the kick there).
        path: (H,) mm path length from the vertex.
    """

    track: np.ndarray
    surface: np.ndarray
    pos: np.ndarray
    mom: np.ndarray
    path: np.ndarray


def propagate(
    rng: np.random.Generator,
    state: TrackState,
    mass_mev: np.ndarray,
    b_tesla: float,
    surfaces: Sequence[tuple[str, float]],
    x_over_x0: float | Sequence[float],
    inside: Callable[[np.ndarray], np.ndarray],
    stop_on_miss: bool = True,
) -> Crossings:
    """Propagate tracks through ``surfaces`` in order and record each crossing.

    Args:
        rng: the block's generator.
        state: N tracks at their vertices (positions mm, momenta GeV, charges e).
        mass_mev: (N,) masses (MeV) for beta in the Highland formula.
        b_tesla: field along z (T).
        surfaces: ``("cylinder", radius_mm)`` or ``("plane_x", x_mm)`` in crossing order.
        x_over_x0: material per surface in radiation lengths (scalar or one per surface);
            0 disables multiple scattering.
        inside: (H, 3) positions -> bool mask of points within the sensitive volume;
            a track that leaves it (or misses a surface, with ``stop_on_miss``) stops.

    Returns:
        The crossings, ordered by surface then track.
    """
    n = state.q.shape[0]
    xs = np.broadcast_to(np.asarray(x_over_x0, dtype=np.float64), (len(surfaces),))
    alive = np.ones(n, dtype=bool)
    path = np.zeros(n)
    st = state.copy()
    rec_t, rec_s, rec_p, rec_m, rec_l = [], [], [], [], []
    for i, (kind, value) in enumerate(surfaces):
        if not alive.any():
            break
        idx = np.flatnonzero(alive)
        sub = TrackState(st.pos[idx], st.mom[idx], st.q[idx])
        if kind == "cylinder":
            new, dl, ok = helix.to_cylinder(sub, b_tesla, value)
        elif kind == "plane_x":
            new, dl, ok = helix.to_plane_x(sub, b_tesla, value)
        else:  # pragma: no cover - internal
            raise ValueError(f"unknown surface kind {kind}")
        ok &= inside(new.pos)
        if stop_on_miss:
            alive[idx[~ok]] = False
        good = idx[ok]
        path[good] += dl[ok]
        rec_t.append(good)
        rec_s.append(np.full(good.size, i, dtype=np.int64))
        rec_p.append(new.pos[ok])
        rec_m.append(new.mom[ok])
        rec_l.append(path[good].copy())
        mom = new.mom[ok]
        if xs[i] > 0 and good.size:
            p = np.linalg.norm(mom, axis=1)
            pm = p * 1e3
            beta = pm / np.hypot(pm, mass_mev[good])
            theta0 = highland(pm, beta, xs[i])
            d = scatter(rng, mom / p[:, None], theta0)
            mom = d * p[:, None]
        st.pos[good] = new.pos[ok]
        st.mom[good] = mom
    if not rec_t:
        z = np.zeros(0, dtype=np.int64)
        return Crossings(z, z, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    return Crossings(
        np.concatenate(rec_t), np.concatenate(rec_s), np.concatenate(rec_p),
        np.concatenate(rec_m), np.concatenate(rec_l),
    )


def smear_tangential(
    rng: np.random.Generator, x: np.ndarray, y: np.ndarray, sigma: float, r: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Move points on cylinders by Gaussian(sigma) mm along the azimuthal direction (r*phi).

    Args:
        x, y: (H,) float32 transverse coordinates (mm) of points on cylinders around z.
        sigma: r-phi resolution (mm).
        r: (H,) their cylinder radii (mm) when known (else computed from x, y).

    Returns:
        The smeared (x, y), float32, still on their cylinders.
    """
    f4 = np.float32
    if r is None:
        r = np.hypot(x, y)
    u = normal32(rng, x.shape[0], sigma)
    u /= np.maximum(r, f4(1e-9))
    scale = f4(1) / np.sqrt(f4(1) + u * u)                       # stay on the cylinder
    return (x - u * y) * scale, (y + u * x) * scale


def scattering_offsets(
    rng: np.random.Generator, theta0: np.ndarray, path: np.ndarray, alive: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Displacements from thin scatterers at every crossing, in the small-angle limit.

    A kick of angle theta_k at path length L_k displaces the track at L_j > L_k by
    theta_k (L_j - L_k); summed over the earlier crossings this is
    ``L_j * sum(theta_k) - sum(theta_k L_k)`` (two running sums along each track).

    Args:
        theta0: (N,) Highland angle per crossing of each track (rad).
        path: (N, J) path length at each crossing (mm).
        alive: (N, J) crossings that exist (kicks only there).

    Returns:
        Two (N, J) float32 displacements (mm) along two directions orthogonal to the track.
    """
    f4 = np.float32
    # Work in (J, N): a running sum over J is then J whole-row additions (6x faster than
    # np.cumsum along rows of 43 here). float32: mm-scale offsets need no more.
    path4 = np.ascontiguousarray(path.T, dtype=f4)                       # (J, N)
    th = normal32(rng, (2,) + path4.shape)                               # (2, J, N) kicks
    th *= alive.T
    th *= theta0.astype(f4)
    tl = th * path4
    a = np.empty_like(th)                                                # sums over k < j
    b = np.empty_like(th)
    a[:, :1] = 0.0
    b[:, :1] = 0.0
    for j in range(1, path4.shape[0]):
        np.add(a[:, j - 1], th[:, j - 1], out=a[:, j])
        np.add(b[:, j - 1], tl[:, j - 1], out=b[:, j])
    a *= path4
    a -= b
    return np.ascontiguousarray(a[0].T), np.ascontiguousarray(a[1].T)


def plane_hits(
    rng: np.random.Generator, pos: np.ndarray, mom: np.ndarray, q: np.ndarray, mass_mev: np.ndarray,
    b_tesla: float, planes: np.ndarray, x_over_x0: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Crossings of N tracks with J planes x = c_j (field along z), with multiple scattering.

    Exact helices (:func:`helix.plane_crossings`) plus the thin-scatterer displacements of
    :func:`scattering_offsets`, applied in the plane (along y and z, orthogonal to the
    track) so the points stay on their planes.

    Returns:
        (pos (N, J, 3) mm, phase (N, J) rad, path (N, J) mm, ok (N, J)); ``ok`` is
        cumulative (a track that misses a plane stops).
    """
    cpos, phase, path, ok = helix.plane_crossings(pos, mom, q, b_tesla, planes)
    ok = np.logical_and.accumulate(ok, axis=1)
    if x_over_x0 > 0 and ok.any():
        p = np.linalg.norm(mom, axis=1) * 1e3
        beta = p / np.hypot(p, mass_mev)
        d1, d2 = scattering_offsets(rng, highland(p, beta, x_over_x0), path, ok)
        # Offsets orthogonal to the track, projected onto the plane (divide by the x-cosine).
        cos_x = np.maximum(np.abs(np.cos(phase)) * (np.hypot(mom[:, 0], mom[:, 1]) /
                           np.linalg.norm(mom, axis=1))[:, None], 0.05)
        cpos[..., 1] += d1 / cos_x
        cpos[..., 2] += d2 / cos_x
    return cpos, phase, path, ok
