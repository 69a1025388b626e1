"""Tracker geometry as the data describe it: field, layers as surfaces, layer keys per hit.

The manifest's ``extra`` holds what a source knows about its detector:

- ``field_T``: the solenoid field along z in T (``None`` when unknown), and
  ``field_origin``: ``"file"`` (the source or the user said), ``"truth fit"`` (estimated
  from truth tracks by :func:`hepgraph.sources.field.estimate_field`) or ``"unknown"``;
- ``tracker_geometry``: ``{"surfaces": [...], "layer_columns": [...], "origin": ...}``. Each
  surface is ``{"layer": key, "kind": "cylinder", "r": mm, "z": [lo, hi]}`` (a barrel
  layer around the beam axis z) or ``{"layer": key, "kind": "plane", "z": mm, "r": [lo,
  hi]}`` (a disk perpendicular to z). ``layer`` is the hit's *layer key*
  (:func:`layer_key`: the ``layer`` column, or TrackML's ``hit_volume`` and ``layer``
  combined), so a hit finds its surface without a search. ``layer_columns`` is empty when
  the data have no layer ids; surfaces are then found in the hit positions
  (:func:`find_surfaces`) and hits are assigned to the nearest one (:func:`assign_surfaces`).

Only the beam axis is assumed (z, as in every collider and most fixed-target trackers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["layer_key", "describe_surfaces", "find_surfaces", "assign_surfaces", "geometry_record",
           "surface_arrays", "KEY_STRIDE"]

#: Layer keys combine several id columns as ``c0 * KEY_STRIDE + c1`` (ids below 2**20).
KEY_STRIDE = 1 << 20


def layer_key(event: Mapping[str, Any], columns: Sequence[str]) -> np.ndarray | None:
    """(N,) int64 layer key of each hit from the id ``columns`` (None when one is missing)."""
    if not columns or any(c not in event for c in columns):
        return None
    key = np.zeros(len(np.asarray(event[columns[0]])), np.int64)
    for c in columns:
        key = key * KEY_STRIDE + np.asarray(event[c], np.int64)
    return key


def _surface(key: int, r: np.ndarray, z: np.ndarray) -> dict[str, Any]:
    """A cylinder when the hits spread more along z than in r, else a plane."""
    r_lo, r_hi = np.quantile(r, [0.01, 0.99]) if r.size > 1 else (r[0], r[0])
    z_lo, z_hi = np.quantile(z, [0.01, 0.99]) if z.size > 1 else (z[0], z[0])
    if (z_hi - z_lo) > (r_hi - r_lo):
        return {"layer": int(key), "kind": "cylinder", "r": float(np.median(r)),
                "z": [float(z.min()), float(z.max())]}
    return {"layer": int(key), "kind": "plane", "z": float(np.median(z)), "r": [float(r.min()), float(r.max())]}


def describe_surfaces(pos: np.ndarray, key: np.ndarray) -> list[dict[str, Any]]:
    """One surface per distinct layer key, classified from the hits it holds.

    Args:
        pos: (N, 3) hit positions (mm).
        key: (N,) layer key of each hit.
    """
    r = np.hypot(pos[:, 0], pos[:, 1])
    order = np.argsort(key, kind="stable")
    k = key[order]
    cuts = np.flatnonzero(np.diff(k)) + 1
    out = []
    for idx in np.split(order, cuts):
        if idx.size:
            out.append(_surface(int(key[idx[0]]), r[idx], pos[idx, 2]))
    return out


def _dense_groups(values: np.ndarray, width: float, thickness: float, min_count: float) -> list[np.ndarray]:
    """Index groups of ``values`` that pile up in a histogram.

    Runs of bins (``width``) holding at least ``min_count`` values, joined within
    ``thickness``, whose fullest bin holds 5 times the mean count of the bins beside the run
    (between ``thickness`` and ``3 thickness`` away), so a smooth but locally dense spread
    (barrel hits near z = 0) is no surface.
    """
    if values.size == 0:
        return []
    lo = float(values.min())
    b = np.floor((values - lo) / width).astype(np.int64)
    counts = np.bincount(b)
    dense = np.flatnonzero(counts >= max(min_count, 1))
    if dense.size == 0:
        return []
    runs = np.split(dense, np.flatnonzero(np.diff(dense) * width > thickness) + 1)
    order = np.argsort(b, kind="stable")
    sb = b[order]
    k = max(int(round(thickness / width)), 1)
    padded = np.concatenate([np.zeros(3 * k, np.int64), counts, np.zeros(3 * k, np.int64)])
    out = []
    for run in runs:
        a0, a1 = run[0] + 3 * k, run[-1] + 3 * k
        side = np.concatenate([padded[a0 - 3 * k:a0 - k], padded[a1 + k + 1:a1 + 3 * k + 1]])
        if counts[run].max() < 5.0 * (side.mean() + 0.5):
            continue
        i0, i1 = np.searchsorted(sb, run[0], "left"), np.searchsorted(sb, run[-1], "right")
        idx = order[i0:i1]
        out.append(idx[np.isin(b[idx], run)])
    return out


def find_surfaces(pos: np.ndarray, *, width: float = 1.0, thickness: float = 10.0,
                  min_fraction: float = 0.005) -> list[dict[str, Any]]:
    """Surfaces found in hit positions when the data carry no layer ids.

    Planes first: histogram bins of z (``width`` mm) holding at least ``min_fraction`` of the
    hits and 5 times the count of the bins around them (hits of a barrel layer spread over z;
    those of a disk pile up), neighbours within ``thickness`` mm joined, spread in r over more
    than ``thickness``; then cylinders the same way in r among the other hits. Keys are
    0, 1, ... (planes by z, then cylinders by r). Hits of no group are left to
    :func:`assign_surfaces`.

    Args:
        pos: (N, 3) hit positions (mm) of one or more events.
        width: histogram bin (mm).
        thickness: thickest surface (mm).
        min_fraction: least share of the hits a surface holds.
    """
    n = pos.shape[0]
    r = np.hypot(pos[:, 0], pos[:, 1])
    used = np.zeros(n, bool)
    planes, cyls = [], []
    for g in _dense_groups(pos[:, 2], width, thickness, min_fraction * n):
        if np.ptp(r[g]) > thickness:
            planes.append(g)
            used[g] = True
    rest = np.flatnonzero(~used)
    for g in _dense_groups(r[rest], width, thickness, min_fraction * n):
        cyls.append(rest[g])
    out = []
    for g in sorted(planes, key=lambda g: float(np.median(pos[g, 2]))):
        out.append({"layer": len(out), "kind": "plane", "z": float(np.median(pos[g, 2])),
                    "r": [float(r[g].min()), float(r[g].max())]})
    for g in sorted(cyls, key=lambda g: float(np.median(r[g]))):
        out.append({"layer": len(out), "kind": "cylinder", "r": float(np.median(r[g])),
                    "z": [float(pos[g, 2].min()), float(pos[g, 2].max())]})
    return out


def surface_arrays(surfaces: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """(S, 5) float64 rows ``[is_plane, position, lo, hi, key]`` (position = r or z, mm)."""
    rows = []
    for s in surfaces:
        if s["kind"] == "plane":
            rows.append([1.0, s["z"], s["r"][0], s["r"][1], s["layer"]])
        else:
            rows.append([0.0, s["r"], s["z"][0], s["z"][1], s["layer"]])
    return np.asarray(rows, np.float64).reshape(-1, 5)


def assign_surfaces(pos: np.ndarray, surfaces: np.ndarray | Sequence[Mapping[str, Any]]) -> np.ndarray:
    """(N,) index into ``surfaces`` of the nearest surface of each hit (-1 when there are none).

    The distance to a plane is |z - z_c| plus how far r lies outside its extent, and to a
    cylinder |r - r_c| plus how far z lies outside its extent.
    """
    arr = surfaces if isinstance(surfaces, np.ndarray) else surface_arrays(surfaces)
    if arr.shape[0] == 0:
        return np.full(pos.shape[0], -1, np.int64)
    r = np.hypot(pos[:, 0], pos[:, 1])[:, None]
    z = pos[:, 2][:, None]
    plane = arr[None, :, 0] > 0.5
    along = np.where(plane, r, z)
    across = np.where(plane, z, r)
    out_of = np.maximum(arr[None, :, 2] - along, 0) + np.maximum(along - arr[None, :, 3], 0)
    d = np.abs(across - arr[None, :, 1]) + out_of
    return np.argmin(d, axis=1).astype(np.int64)


def geometry_record(surfaces: list[dict[str, Any]], layer_columns: Sequence[str], origin: str,
                    module_column: str | None = None) -> dict[str, Any]:
    """The ``extra.tracker_geometry`` dict (see the module docstring)."""
    return {"surfaces": surfaces, "layer_columns": list(layer_columns), "module_column": module_column,
            "origin": origin}
