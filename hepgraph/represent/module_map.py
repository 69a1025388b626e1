"""Graph construction measured on the training split: a module map with coordinate windows.

As in the ACORN / Exa.TrkX module map (built from truth: which detector modules real tracks
connect), but with *cells* whose size follows the training statistics instead of the
detector's modules, so a few hundred training events are enough:

1. Each hit lies on a surface (a barrel cylinder or a plane along z, see
   :mod:`hepgraph.events.geometry`): found from its layer key, or the nearest
   surface when the data have no layer ids. A surface is cut into ``cells`` along its length
   (z on a cylinder, r on a plane) at quantiles of the training hits, about ``cell_hits``
   training hits per cell.
2. The truth *segments* of the training events are the pairs of consecutive hits of each
   particle, in the order of their distance from the particle's vertex (so tracks may go
   inwards, backwards or along z); a missed layer makes a segment that skips it, so gaps
   are in the map where they happen. ``skip`` > 0 adds pairs that skip hits on purpose
   (more edges, a slightly higher ceiling).
3. Each cell pair (a -> b) seen in the segments is an *entry* of the map, with windows
   (min, max, widened by ``margin``) of four features of its segments: Δφ (rad), Δz, Δr and
   z0 = z_a - r_a Δz/Δr (the beam-axis crossing of the line through the two hits, mm).
   Entries with fewer than ``min_segments`` segments take the windows of their surface pair,
   and every entry takes its surface pair's z0 window (where tracks start does not depend on
   the cell; per-cell statistics would cut the tails of the luminous region). Windows widen
   by ``margin`` plus 2/n of their width (n segments: how far the extremes of n samples fall
   short). Cells next to a seen target cell (same surface) get entries with the surface
   pair's windows, so tracks a little off the training paths still find their next hit.
4. ``forward`` links every hit of cell a to the hits of cell b of the same event that pass
   all windows: candidates are found per entry by binary search in φ (O(N log N + E)), so
   it scales to TrackML-size events.

Edges point in the direction of travel (a -> b), learned from truth, never assumed.

>>> mm = ModuleMap.fit(train_events, geometry)                 # doctest: +SKIP
>>> edge_index = mm(pos, ptr, layer_key)                       # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.errors import DataError
from hepgraph.events import geometry as tg

#: Window features of a hit pair a -> b.
FEATURES = ("dphi", "dz", "dr", "z0")
#: Absolute widening of each window (rad, mm, mm, mm) on top of ``margin`` x its width.
ABS_MARGIN = (2e-3, 1.0, 1.0, 5.0)
_BIG = 1.0e6


def pair_features(pos_a: Tensor, pos_b: Tensor) -> Tensor:
    """(M, 4) window features of hit pairs a -> b: Δφ (wrapped, rad), Δz, Δr, z0 (mm)."""
    ra = torch.hypot(pos_a[:, 0], pos_a[:, 1])
    rb = torch.hypot(pos_b[:, 0], pos_b[:, 1])
    dphi = torch.atan2(pos_b[:, 1], pos_b[:, 0]) - torch.atan2(pos_a[:, 1], pos_a[:, 0])
    dphi = torch.remainder(dphi + math.pi, 2 * math.pi) - math.pi
    dz = pos_b[:, 2] - pos_a[:, 2]
    dr = rb - ra
    safe = torch.where(dr.abs() > 1e-6, dr, torch.full_like(dr, 1e-6))
    z0 = (pos_a[:, 2] - ra * dz / safe).clamp(-_BIG, _BIG)
    return torch.stack([dphi, dz, dr, z0], 1)


def hit_order(pos: np.ndarray, track: np.ndarray, vertex: np.ndarray | None) -> np.ndarray:
    """(N,) distance (mm) of each hit from its particle's vertex (from the origin without one).

    Args:
        pos: (N, 3) hits.
        track: (N,) particle id (-1 noise).
        vertex: (N, 3) the vertex of each hit's particle, or None.
    """
    ref = np.zeros_like(pos) if vertex is None else np.nan_to_num(vertex)
    return np.linalg.norm(pos - ref, axis=1)


def truth_segments(order: np.ndarray, track: np.ndarray, skip: int = 1) -> np.ndarray:
    """(2, S) pairs (earlier, later) of hits of one particle, up to ``skip`` hits apart."""
    t = np.asarray(track, np.int64)
    idx = np.lexsort((order, t))
    ts = t[idx]
    out = []
    for k in range(1, skip + 2):
        ok = (ts[k:] == ts[:-k]) & (ts[k:] >= 0)
        out.append(np.stack([idx[:-k][ok], idx[k:][ok]]))
    return np.concatenate(out, axis=1) if out else np.zeros((2, 0), np.int64)


def event_vertex(event: Mapping[str, Any]) -> np.ndarray | None:
    """(N, 3) production vertex of each hit's particle (NaN for noise), None without one."""
    need = ("particle_id", "particle_vx", "particle_vy", "particle_vz", "track_id")
    if any(k not in event for k in need):
        return None
    pid = np.asarray(event["particle_id"], np.int64)
    vtx = np.stack([np.asarray(event[f"particle_v{c}"], np.float64) for c in "xyz"], 1)
    tid = np.asarray(event["track_id"], np.int64)
    out = np.full((tid.size, 3), np.nan)
    if pid.size == 0:  # an event without particles (no hits, or only noise)
        return out
    srt = np.argsort(pid)
    j = np.searchsorted(pid[srt], tid)
    jj = srt[np.minimum(j, pid.size - 1)]
    ok = (tid >= 0) & (j < pid.size) & (pid[jj] == tid)
    out[ok] = vtx[jj[ok]]
    return out


def _group_quantiles(f: np.ndarray, inv: np.ndarray, cnt: np.ndarray, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """Per group and feature, the ``trim`` and ``1 - trim`` quantiles (min and max at 0)."""
    g = inv.reshape(-1)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    i_lo = start + np.floor(trim * (cnt - 1)).astype(np.int64)
    i_hi = start + np.ceil((1 - trim) * (cnt - 1)).astype(np.int64)
    lo = np.empty((cnt.size, f.shape[1]))
    hi = np.empty((cnt.size, f.shape[1]))
    for j in range(f.shape[1]):
        order = np.lexsort((f[:, j], g))
        v = f[order, j]
        lo[:, j], hi[:, j] = v[i_lo], v[i_hi]
    return lo, hi


class ModuleMap(nn.Module):
    """Learned graph construction (see the module docstring); state lives in buffers.

    Args:
        layer_columns: hit columns forming the layer key (empty: nearest surface).
        margin: windows widen by this fraction of their width (plus :data:`ABS_MARGIN`).
        skip: segments may skip up to this many hits of a particle.
        cell_hits: training hits per cell (sets the number of cells of a surface).
        min_segments: entries seen fewer times take their surface pair's windows.
        trim: windows span the ``trim`` to ``1 - trim`` quantiles of the segments (0: all).

    Shapes:
        - **input:** pos (N, 3) mm, ptr (B+1,), key (N,) layer key or None
        - **output:** (2, E) int64 edges a -> b (direction of travel)
    """

    def __init__(self, layer_columns: Sequence[str] = ("layer",), margin: float = 0.1, skip: int = 0,
                 cell_hits: int = 2000, min_segments: int = 10, trim: float = 0.0) -> None:
        super().__init__()
        self.layer_columns = tuple(layer_columns)
        self.margin, self.skip, self.trim = float(margin), int(skip), float(trim)
        self.cell_hits, self.min_segments = int(cell_hits), int(min_segments)
        for name, dtype, shape in (("surfaces", torch.float64, (0, 5)), ("cell_edges", torch.float64, (0, 2)),
                                   ("cell_offset", torch.long, (1,)), ("rowptr", torch.long, (1,)),
                                   ("ent_b", torch.long, (0,)), ("ent_lo", torch.float64, (0, 4)),
                                   ("ent_hi", torch.float64, (0, 4)), ("ent_count", torch.long, (0,))):
            self.register_buffer(name, torch.zeros(shape, dtype=dtype))

    def extra_repr(self) -> str:
        return (f"layer_columns={list(self.layer_columns)}, surfaces={self.surfaces.shape[0]}, "
                f"cells={int(self.cell_offset[-1])}, entries={self.ent_b.numel()}, margin={self.margin}, "
                f"skip={self.skip}")

    def get_extra_state(self) -> dict[str, Any]:
        """The layer columns (strings) travel with the buffers in the state dict."""
        return {"layer_columns": list(self.layer_columns)}

    def set_extra_state(self, state: Any) -> None:
        """Restore :meth:`get_extra_state`."""
        self.layer_columns = tuple(str(c) for c in (state or {}).get("layer_columns", ()))

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` (or a loaded state) gave the map entries."""
        return self.ent_b.numel() > 0

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # the buffers' sizes depend on the training data: take the stored ones
        for name, buf in self.named_buffers(recurse=False):
            key = prefix + name
            if key in state_dict and state_dict[key].shape != buf.shape:
                setattr(self, name, torch.empty_like(state_dict[key], dtype=buf.dtype))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ----------------------------------------------------------------- hits -> cells
    def surface_of(self, pos: Tensor, key: Tensor | None) -> Tensor:
        """(N,) surface index of each hit: by layer key, else (or for unknown keys) the nearest."""
        s = self.surfaces
        n = pos.shape[0]
        out = torch.full((n,), -1, dtype=torch.long, device=pos.device)
        if key is not None and s.shape[0]:
            keys = s[:, 4].long()
            order = torch.argsort(keys)
            j = torch.searchsorted(keys[order], key.long()).clamp(max=keys.numel() - 1)
            hit = keys[order][j] == key.long()
            out = torch.where(hit, order[j], out)
        miss = out < 0
        if miss.any() and s.shape[0]:
            near = tg.assign_surfaces(pos[miss].detach().double().cpu().numpy(), s.cpu().numpy())
            out[miss] = torch.from_numpy(near).to(pos.device)
        return out

    def cell_of(self, pos: Tensor, surface: Tensor) -> Tensor:
        """(N,) global cell index: the surface's cell that holds the hit's length coordinate."""
        s = self.surfaces[surface]
        r = torch.hypot(pos[:, 0], pos[:, 1]).double()
        along = torch.where(s[:, 0] > 0.5, r, pos[:, 2].double())      # planes: r, cylinders: z
        edges = self.cell_edges[surface]                                # (N, A+1) padded with +inf
        ncell = self.cell_offset[surface + 1] - self.cell_offset[surface]
        b = (along.unsqueeze(1) >= edges[:, 1:]).sum(1)
        b = torch.minimum(b, ncell - 1)
        return self.cell_offset[surface] + b

    def hit_cells(self, pos: Tensor, key: Tensor | None) -> Tensor:
        """(N,) cell of each hit."""
        return self.cell_of(pos, self.surface_of(pos, key))

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, events: Iterable[Mapping[str, Any]], geometry: Mapping[str, Any] | None = None,
            **kwargs: Any) -> ModuleMap:
        """Build the map from training events with truth (``track_id``; vertices when present).

        Args:
            events: event dicts (``x, y, z`` mm, ``track_id``, the layer columns).
            geometry: the manifest's ``tracker_geometry`` (surfaces, layer columns); None:
                surfaces are found in the hits.
            **kwargs: the constructor's arguments.

        Raises:
            DataError: no truth, or no segment in the events.
        """
        evs = list(events)
        geo = dict(geometry or {})
        cols = tuple(geo.get("layer_columns") or ()) if geo.get("surfaces") else ()
        if cols and any(c not in (evs[0] if evs else {}) for c in cols):
            cols = ()
        mm = cls(layer_columns=cols, **kwargs)
        if not evs or "track_id" not in evs[0]:
            raise DataError("a module map is built from truth: the training events need `track_id`")
        pos_all = [np.stack([np.asarray(e[c], np.float64) for c in ("x", "y", "z")], 1) for e in evs]
        surfaces = list(geo.get("surfaces") or []) if cols else tg.find_surfaces(np.concatenate(pos_all))
        if not surfaces:
            raise DataError("no detector surface found in the training hits")
        mm.surfaces = torch.from_numpy(tg.surface_arrays(surfaces))
        # surfaces of all hits, then cells at quantiles of each surface's length coordinate
        surf = [mm.surface_of(torch.from_numpy(p), None if not cols else torch.from_numpy(
            tg.layer_key(e, cols))).numpy() for p, e in zip(pos_all, evs, strict=True)]
        pos = np.concatenate(pos_all)
        sall = np.concatenate(surf)
        plane = mm.surfaces[:, 0].numpy() > 0.5
        along = np.where(plane[sall], np.hypot(pos[:, 0], pos[:, 1]), pos[:, 2])
        nsurf = mm.surfaces.shape[0]
        cuts = []
        for k in range(nsurf):
            a = along[sall == k]
            n_cells = int(np.clip(a.size // max(mm.cell_hits, 1), 1, 64))
            inner = np.quantile(a, np.linspace(0, 1, n_cells + 1)[1:-1]) if a.size and n_cells > 1 else np.zeros(0)
            cuts.append(np.unique(inner))
        width = max(len(c) for c in cuts) + 2
        edges = np.full((nsurf, width), np.inf)
        edges[:, 0] = -np.inf
        for k, c in enumerate(cuts):
            edges[k, 1:1 + c.size] = c
        mm.cell_edges = torch.from_numpy(edges)
        mm.cell_offset = torch.from_numpy(np.concatenate([[0], np.cumsum([c.size + 1 for c in cuts])]).astype(np.int64))
        # segments and their features
        ca, cb, feats, sa, sb = [], [], [], [], []
        for p, e, s in zip(pos_all, evs, surf, strict=True):
            tid = np.asarray(e["track_id"], np.int64)
            seg = truth_segments(hit_order(p, tid, event_vertex(e)), tid, mm.skip)
            if seg.shape[1] == 0:
                continue
            pt = torch.from_numpy(p)
            cell = mm.cell_of(pt, torch.from_numpy(s)).numpy()
            ca.append(cell[seg[0]])
            cb.append(cell[seg[1]])
            sa.append(s[seg[0]])
            sb.append(s[seg[1]])
            feats.append(pair_features(pt[seg[0]], pt[seg[1]]).numpy())
        if not ca:
            raise DataError("the training events hold no track with two hits: no module map")
        mm._set_entries(np.concatenate(ca), np.concatenate(cb), np.concatenate(sa), np.concatenate(sb),
                        np.concatenate(feats))
        return mm

    def _set_entries(self, ca: np.ndarray, cb: np.ndarray, sa: np.ndarray, sb: np.ndarray, f: np.ndarray) -> None:
        ncell = int(self.cell_offset[-1])
        key = ca * ncell + cb
        uk, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        lo, hi = _group_quantiles(f, inv, cnt, self.trim)
        # sparse entries take the windows of their surface pair
        nsurf = self.surfaces.shape[0]
        skey = sa * nsurf + sb
        usk, sinv, scnt = np.unique(skey, return_inverse=True, return_counts=True)
        slo, shi = _group_quantiles(f, sinv, scnt, self.trim)
        ent_surf = np.zeros(uk.size, np.int64)
        ent_surf[inv] = sinv
        sparse = cnt < self.min_segments
        lo[sparse], hi[sparse] = slo[ent_surf[sparse]], shi[ent_surf[sparse]]
        # where tracks come from does not depend on the cells: z0 (the beam-axis crossing)
        # takes the surface pair's window, whose statistics reach the luminous region's tails
        lo[:, 3], hi[:, 3] = slo[ent_surf, 3], shi[ent_surf, 3]
        # the extremes of n samples fall short of the distribution's by ~ width / n
        pad = (self.margin + 2.0 / cnt[:, None]) * (hi - lo) + np.asarray(ABS_MARGIN)[None, :f.shape[1]]
        lo, hi = lo - pad, hi + pad
        ent_a, ent_b = uk // ncell, uk % ncell
        # cells next to a seen target cell on the same surface: entries with the surface pair's
        # windows, so a track slightly off the training tracks' paths still finds its next hit
        edge_b = np.concatenate([ent_b - 1, ent_b + 1])
        cell_surf = np.searchsorted(self.cell_offset.numpy(), np.arange(ncell), side="right") - 1
        src = np.concatenate([np.arange(uk.size)] * 2)
        ok = (edge_b >= 0) & (edge_b < ncell)
        ok[ok] &= cell_surf[edge_b[ok]] == cell_surf[np.concatenate([ent_b, ent_b])[ok]]
        extra = np.unique(ent_a[src[ok]] * ncell + edge_b[ok])
        new = np.setdiff1d(extra, uk)
        if new.size:
            # windows of the entry they were dilated from (the surface pair's)
            order = np.argsort(ent_a[src[ok]] * ncell + edge_b[ok], kind="stable")
            first = src[ok][order][np.searchsorted((ent_a[src[ok]] * ncell + edge_b[ok])[order], new)]
            s_i = ent_surf[first]
            spad = self.margin * (shi[s_i] - slo[s_i]) + np.asarray(ABS_MARGIN)[None, :f.shape[1]]
            uk = np.concatenate([uk, new])
            lo = np.concatenate([lo, slo[s_i] - spad])
            hi = np.concatenate([hi, shi[s_i] + spad])
            cnt = np.concatenate([cnt, np.zeros(new.size, cnt.dtype)])
            order = np.argsort(uk, kind="stable")
            uk, lo, hi, cnt = uk[order], lo[order], hi[order], cnt[order]
            ent_a, ent_b = uk // ncell, uk % ncell
        self.ent_lo = torch.from_numpy(lo)
        self.ent_hi = torch.from_numpy(hi)
        self.ent_b = torch.from_numpy(ent_b)
        self.ent_count = torch.from_numpy(cnt.astype(np.int64))
        self.rowptr = torch.from_numpy(np.concatenate([[0], np.cumsum(np.bincount(ent_a, minlength=ncell))]))

    # ----------------------------------------------------------------- building
    def forward(self, pos: Tensor, ptr: Tensor, key: Tensor | None = None) -> Tensor:
        """(2, E) edges a -> b between hits of the same event that pass their entry's windows."""
        if not self.fitted:
            raise DataError("the module map is empty: fit it on training events first (ModuleMap.fit)")
        dev = pos.device
        n = pos.shape[0]
        if n == 0:
            return torch.zeros(2, 0, dtype=torch.long, device=dev)
        cell = self.hit_cells(pos, key)
        ncell = int(self.cell_offset[-1])
        counts = ptr[1:] - ptr[:-1]
        ev = torch.repeat_interleave(torch.arange(counts.numel(), device=dev), counts)
        phi = torch.atan2(pos[:, 1].double(), pos[:, 0].double()) + math.pi   # [0, 2 pi]
        group = ev * ncell + cell
        skey = group.double() * 8.0 + phi
        order = torch.argsort(skey)
        sorted_key = skey[order]
        # (hit, entry) pairs: every entry of the hit's cell
        rowptr = self.rowptr.to(dev)
        deg = rowptr[cell + 1] - rowptr[cell]
        h = torch.repeat_interleave(torch.arange(n, device=dev), deg)
        first = torch.repeat_interleave(rowptr[cell], deg)
        j = first + torch.arange(h.numel(), device=dev) - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
        lo = self.ent_lo.to(dev)[j]
        hi = self.ent_hi.to(dev)[j]
        base = (ev[h] * ncell + self.ent_b.to(dev)[j]).double() * 8.0
        src, dst, ent = [], [], []
        for shift in (0.0, 2 * math.pi, -2 * math.pi):
            wlo = (phi[h] + lo[:, 0] + shift).clamp(0.0, 2 * math.pi)
            whi = (phi[h] + hi[:, 0] + shift).clamp(0.0, 2 * math.pi)
            a = torch.searchsorted(sorted_key, base + wlo, side="left")
            b = torch.searchsorted(sorted_key, base + whi, side="right")
            cnt = torch.where(whi > wlo, b - a, torch.zeros_like(a)).clamp(min=0)
            tot = int(cnt.sum())
            if tot == 0:
                continue
            rep = torch.repeat_interleave(torch.arange(h.numel(), device=dev), cnt)
            offs = torch.arange(tot, device=dev) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
            src.append(h[rep])
            dst.append(order[torch.repeat_interleave(a, cnt) + offs])
            ent.append(rep)
        if not src:
            return torch.zeros(2, 0, dtype=torch.long, device=dev)
        s, d, e = torch.cat(src), torch.cat(dst), torch.cat(ent)
        keep = s != d
        f = pair_features(pos[s].double(), pos[d].double())
        keep &= ((f >= lo[e]) & (f <= hi[e])).all(1)
        s, d = s[keep], d[keep]
        uniq = torch.unique(s * n + d)
        return torch.stack([uniq // n, uniq % n])
