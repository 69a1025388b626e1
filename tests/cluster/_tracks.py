"""Hand-built events shared by the cluster tests (not a test module)."""

from __future__ import annotations

import numpy as np

C_PT = 0.299792458e-3


def straight_event(n_tracks=5, radii=np.arange(300.0, 1201.0, 100.0), noise=True, smear=0.5):
    """Straight tracks from the origin, well separated in phi and theta, plus isolated noise."""
    x, y, z, t = [], [], [], []
    for i in range(n_tracks):
        phi = -3.0 + i * (6.0 / n_tracks)
        cot = -0.8 + 0.4 * i
        x += list(radii * np.cos(phi))
        y += list(radii * np.sin(phi))
        z += list(radii * cot)
        t += [i] * len(radii)
    if noise:
        for p in [(0.0, 10.0, 3000.0), (10.0, 0.0, -3000.0), (1087.0, 2796.0, -2500.0)]:
            x.append(p[0]); y.append(p[1]); z.append(p[2]); t.append(-1)
    rng = np.random.default_rng(7)
    x, y, z = (np.array(v) + rng.normal(0, smear, len(v)) for v in (x, y, z))
    return {"x": x, "y": y, "z": z, "track_id": np.array(t)}


def forward_event(tracks, planes=np.arange(100.0, 601.0, 50.0)):
    """Straight tracks ``(phi, tan theta, vertex z mm)`` from vertices along the beam, hits on the
    planes ``z = planes`` (mm), no smearing."""
    x, y, z, t = [], [], [], []
    for i, (phi, tan_t, zv) in enumerate(tracks):
        r = (planes - zv) * tan_t
        x += list(r * np.cos(phi))
        y += list(r * np.sin(phi))
        z += list(planes)
        t += [i] * planes.size
    return {"x": np.array(x), "y": np.array(y), "z": np.array(z), "track_id": np.array(t)}


def curved_event(field=1.0, pts=(0.8, 1.5, 3.0, 1.0, 2.0), radii=np.arange(100.0, 1001.0, 75.0)):
    """Tracks from the origin in a solenoid, alternating charges, hits on cylinders."""
    x, y, z, t = [], [], [], []
    for i, pt in enumerate(pts):
        q = 1 if i % 2 == 0 else -1
        kappa = q * C_PT * field / pt  # positive bends clockwise
        phi0 = -2.8 + i * 1.25
        phi = phi0 - np.arcsin(kappa * radii / 2)
        s = 2 * np.arcsin(kappa * radii / 2) / kappa
        x += list(radii * np.cos(phi))
        y += list(radii * np.sin(phi))
        z += list(s * (-0.6 + 0.3 * i))
        t += [i] * len(radii)
    return {"x": np.array(x), "y": np.array(y), "z": np.array(z), "track_id": np.array(t)}


def same_partition(a, b):
    """True when two labelings define the same clusters (noise -1 must match exactly)."""
    a, b = np.asarray(a), np.asarray(b)
    if not np.array_equal(a < 0, b < 0):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len(set(a[a >= 0].tolist())) == len(set(b[b >= 0].tolist()))


def telescope_event(tracks, planes=np.arange(0.0, 501.0, 50.0)):
    """Straight tracks ``(x0, y0, tx, ty)`` (mm at z = 0, dx/dz, dy/dz) of a parallel beam through
    planes along z (mm): lines that do not come from the beam axis."""
    x, y, z, t = [], [], [], []
    for i, (x0, y0, tx, ty) in enumerate(tracks):
        x += list(x0 + tx * planes)
        y += list(y0 + ty * planes)
        z += list(planes)
        t += [i] * planes.size
    return {"x": np.array(x), "y": np.array(y), "z": np.array(z), "track_id": np.array(t)}


def _line(start, step, n):
    return np.asarray(start, float) + np.arange(n)[:, None] * np.asarray(step, float)


def two_tracks_with_a_gap():
    """Two straight tracks each split by a weak edge and chained through a noise hit: edge
    index (2, 16) and scores (16,) as a model would give them; see tests/cluster/test_paths.py."""
    # track A: hits 0-7 along z at x=0; track B: hits 8-15 along z at x=30; noise hit 16
    # between them, with edges 3 -> 16 -> 12 that bend by ~0.6 rad at hits 3 and 12
    a = _line([0, 0, 0], [0, 1, 50], 8)
    b = _line([30, 0, 0], [0, -1, 50], 8)
    pos = np.vstack([a, b, [[15, 0, 175]]])
    ev = {"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2]}
    e = [(i, i + 1) for i in range(7)] + [(8 + i, 9 + i) for i in range(7)] + [(3, 16), (16, 12)]
    s = [0.95] * 14 + [0.9, 0.9]
    s[3] = 0.3  # A's edge 3 -> 4 and B's 11 -> 12 are below the threshold, so the path
    s[10] = 0.2  # 0-1-2-3-16-12-...-15 through the noise hit is what the builder makes
    return ev, np.array(e).T, np.array(s)
