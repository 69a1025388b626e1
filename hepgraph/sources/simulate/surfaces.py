r"""Crossings of helices (or straight lines) with cylinders around z and planes z = const.

The silicon-tracker simulators describe a detector as a list of surfaces: barrel
*cylinders* ``x^2 + y^2 = r^2`` for ``|z| <= half_length`` and *disks* (planes
perpendicular to the beam) ``z = z_c`` for ``r_min <= r <= r_max``. The field is along z
(a solenoid) or zero. A particle from ``pos`` with momentum ``mom`` moves on

.. math::
    x(s) = x_0 + hR(\\sin(\\phi_0 + hs/R) - \\sin\\phi_0),\\quad
    y(s) = y_0 - hR(\\cos(\\phi_0 + hs/R) - \\cos\\phi_0),\\quad z(s) = z_0 + s\\tan\\lambda

with s the transverse arc length (mm), R = p_T / (0.3 B) (m), h = -sign(qB) and
tan λ = p_z / p_T; straight lines (B = 0 or neutral) have ``x = x_0 + s cos φ_0``.
:func:`crossings` returns the arc length of the first crossing ahead of the particle
with every surface at once (an (N, J) array), so a block of events needs no loop over
tracks. A disk is crossed once (z is monotonic in s); a cylinder at its first crossing.

Units: mm, GeV, T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepgraph.sources.simulate.helix import cylinder_crossings, radius_mm


@dataclass(frozen=True)
class Surfaces:
    """The sensitive surfaces of a tracker, cylinders first, then disks.

    Attributes:
        cyl_r: (C,) cylinder radii (mm). cyl_half: (C,) their half-lengths in z (mm).
        disk_z: (D,) disk positions (mm). disk_rmin, disk_rmax: (D,) radial extent (mm).
    """

    cyl_r: np.ndarray
    cyl_half: np.ndarray
    disk_z: np.ndarray
    disk_rmin: np.ndarray
    disk_rmax: np.ndarray

    @property
    def n_cyl(self) -> int:
        """Number of cylinders C."""
        return int(self.cyl_r.size)

    @property
    def size(self) -> int:
        """Number of surfaces J = C + D."""
        return int(self.cyl_r.size + self.disk_z.size)

    def area(self) -> np.ndarray:
        """(J,) sensitive area of each surface (mm^2)."""
        cyl = 2 * np.pi * self.cyl_r * 2 * self.cyl_half
        disk = np.pi * (self.disk_rmax**2 - self.disk_rmin**2)
        return np.concatenate([cyl, disk])


@dataclass
class Helices:
    """N particles as helix parameters (field along z), built once per block."""

    pos: np.ndarray        # (N, 3) mm start points
    pt: np.ndarray         # (N,) GeV
    phi0: np.ndarray       # (N,) rad
    tanl: np.ndarray       # (N,) p_z / p_T
    hr: np.ndarray         # (N,) h R in mm (0 for straight lines)

    @classmethod
    def make(cls, pos: np.ndarray, mom: np.ndarray, q: np.ndarray, b_tesla: float) -> Helices:
        """Helix parameters of particles at ``pos`` (mm) with ``mom`` (GeV), charge ``q`` (e)."""
        pt = np.hypot(mom[:, 0], mom[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            tanl = np.where(pt > 0, mom[:, 2] / np.maximum(pt, 1e-300), np.inf)
        h = -np.sign(q * b_tesla)
        r = radius_mm(pt, b_tesla) if b_tesla else np.full(pt.shape, np.inf)
        hr = np.where((h != 0) & np.isfinite(r), h * np.where(np.isfinite(r), r, 0.0), 0.0)
        return cls(pos, pt, np.arctan2(mom[:, 1], mom[:, 0]), tanl, hr)

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (..., 3) mm and transverse phases (...) rad at arc lengths ``s`` (N, ...).

        Shapes:
            - **s:** (N,) or (N, J)  - **output:** (N[, J], 3), (N[, J])
        """
        extra = (slice(None),) + (None,) * (s.ndim - 1)
        hr, phi0 = self.hr[extra], self.phi0[extra]
        curved = hr != 0
        safe = np.where(curved, hr, 1.0)
        phi = np.where(curved, phi0 + s / safe, phi0)          # h s / R = s / (h R)
        sp0, cp0 = np.sin(phi0), np.cos(phi0)
        dx = np.where(curved, hr * (np.sin(phi) - sp0), s * cp0)
        dy = np.where(curved, -hr * (np.cos(phi) - cp0), s * sp0)
        p = self.pos[extra + (slice(None),)] if s.ndim > 1 else self.pos
        out = np.stack([p[..., 0] + dx, p[..., 1] + dy, p[..., 2] + s * self.tanl[extra]], axis=-1)
        return out, phi

    def directions(self, phi: np.ndarray) -> np.ndarray:
        """Unit direction vectors (..., 3) at transverse phases ``phi`` (N, ...)."""
        extra = (slice(None),) + (None,) * (phi.ndim - 1)
        tl = np.where(np.isfinite(self.tanl), self.tanl, 0.0)[extra]
        norm = np.sqrt(1.0 + tl**2)
        return np.stack([np.cos(phi) / norm, np.sin(phi) / norm, np.broadcast_to(tl / norm, phi.shape)],
                        axis=-1)


def crossings(
    hx: Helices, surf: Surfaces, q: np.ndarray, mom: np.ndarray, b_tesla: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Transverse arc length (mm) of the first crossing ahead with every surface.

    Args:
        hx: the particles' helices.
        surf: the surfaces.
        q: (N,) charges (e), for the curved cylinder crossings.
        mom: (N, 3) momenta (GeV), likewise.
        b_tesla: field along z (T).

    Returns:
        ``(s (N, J), ok (N, J))``; ``ok`` is False where the surface is not reached within its
        extent (or lies behind the particle).
    """
    n = hx.pt.shape[0]
    s_cyl = np.zeros((n, surf.n_cyl))
    ok_cyl = np.zeros((n, surf.n_cyl), bool)
    if surf.n_cyl:
        curved = hx.hr != 0
        x0, y0 = hx.pos[:, 0], hx.pos[:, 1]
        if (~curved).any():
            ux, uy = np.cos(hx.phi0), np.sin(hx.phi0)
            b = (x0 * ux + y0 * uy)[:, None]
            c = (x0**2 + y0**2)[:, None] - surf.cyl_r[None, :] ** 2
            disc = b**2 - c
            sq = np.sqrt(np.maximum(disc, 0.0))
            t1, t2 = -b - sq, -b + sq
            t = np.where(t1 > 1e-9, t1, t2)
            line_ok = (disc >= 0) & (t > 1e-9) & (hx.pt > 0)[:, None]
            s_cyl[~curved] = t[~curved]
            ok_cyl[~curved] = line_ok[~curved]
        if curved.any():
            idx = np.flatnonzero(curved)
            _, _, path, ok, _, _ = cylinder_crossings(hx.pos[idx], mom[idx], q[idx].astype(np.float64),
                                                      b_tesla, surf.cyl_r)
            s_cyl[idx] = path / np.sqrt(1.0 + hx.tanl[idx, None] ** 2)
            ok_cyl[idx] = ok
        z = hx.pos[:, 2:3] + s_cyl * np.where(np.isfinite(hx.tanl), hx.tanl, 0.0)[:, None]
        ok_cyl &= np.abs(z) <= surf.cyl_half[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        s_disk = (surf.disk_z[None, :] - hx.pos[:, 2:3]) / hx.tanl[:, None]
    ok_disk = np.isfinite(s_disk) & (s_disk > 1e-9)
    s_disk = np.where(ok_disk, s_disk, 0.0)
    if surf.disk_z.size:
        p, _ = hx.at(s_disk)
        r = np.hypot(p[..., 0], p[..., 1])
        ok_disk &= (r >= surf.disk_rmin[None, :]) & (r <= surf.disk_rmax[None, :])
    return np.concatenate([s_cyl, s_disk], axis=1), np.concatenate([ok_cyl, ok_disk], axis=1)


def project_to_surface(
    pos: np.ndarray, direction: np.ndarray, surface: np.ndarray, surf: Surfaces
) -> np.ndarray:
    """Move points displaced off their surface back onto it along ``direction``.

    Disks: exactly along the track direction to z = z_c. Cylinders: along the direction to
    first order in the (small) radial offset.

    Shapes:
        - **pos, direction:** (H, 3)  - **surface:** (H,) surface index  - **output:** (H, 3)
    """
    out = pos.copy()
    disk = surface >= surf.n_cyl
    if disk.any():
        zc = surf.disk_z[surface[disk] - surf.n_cyl]
        tz = direction[disk, 2]
        a = (zc - pos[disk, 2]) / np.where(np.abs(tz) > 1e-6, tz, np.copysign(1e-6, tz))
        out[disk] = pos[disk] + a[:, None] * direction[disk]
        out[disk, 2] = zc
    cyl = ~disk
    if cyl.any():
        rc = surf.cyl_r[surface[cyl]]
        r = np.hypot(pos[cyl, 0], pos[cyl, 1])
        rhat = pos[cyl, :2] / np.maximum(r, 1e-9)[:, None]
        tr = np.einsum("ij,ij->i", direction[cyl, :2], rhat)
        a = (rc - r) / np.where(np.abs(tr) > 0.05, tr, np.copysign(0.05, tr))
        moved = pos[cyl] + a[:, None] * direction[cyl]
        rm = np.hypot(moved[:, 0], moved[:, 1])
        moved[:, :2] *= (rc / np.maximum(rm, 1e-9))[:, None]       # exactly on the cylinder
        out[cyl] = moved
    return out
