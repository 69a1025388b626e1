"""Track finding in a cell tracker: clusters of neighbouring cells, split where a path turns.

In a tracker of cells (Geiger cells, straws, drift tubes) a track fires a chain of
*neighbouring* cells, so tracks that do not touch are found by connecting neighbours alone,
whatever their curvature or multiple scattering (the low-momentum electrons of a
SuperNEMO-style tracker scatter by tenths of a radian per layer, which defeats a global
line or helix fit). Tracks touch where they leave a common vertex; there the cluster is a
"V", and the path through it turns sharply. The clusterer:

1. links hits whose wires are within ``link_dist`` mm in the plane transverse to the wires
   and whose coordinates along the wires (``z``) differ by at most ``z_link`` mm;
2. takes each connected cluster of links, finds its longest path (the two hits furthest
   apart along links, then the shortest path between them) and the turning angle of that
   path at each hit, from the directions to the hits ``window`` steps before and after it
   (3D wire positions with z);
3. accepts the cluster as one track when the largest turn is below ``turn_max`` rad, else
   cuts the path at that hit and gives every other hit of the cluster to the side it is
   closer to along links; both sides are examined again (at most ``max_tracks`` tracks per
   cluster);
4. drops tracks with fewer than ``min_hits`` hits (their hits get -1).

YAML::

    clusterer: {name: cell-paths, link_dist: 90.0, z_link: 300.0, turn_max: 1.0, window: 4}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer, label_groups
from hepgraph.cluster.drift_circles import AXES
from hepgraph.errors import ConfigError
from hepgraph.registry import CLUSTERERS
from hepgraph.represent.graph_report import connected_tracks

__all__ = ["CellPathClusterer", "longest_path", "path_turns"]


def longest_path(dist: Any) -> np.ndarray:
    """Hit indices of the path between the two hits furthest apart along links.

    Args:
        dist: (m, m) link lengths of one connected cluster: a scipy sparse matrix (stored
            entries are the links) or a dense array with ``inf`` where two hits are not linked.

    Returns:
        (L,) indices from one end to the other (a double sweep: the hit furthest from the
        first hit, then the hit furthest from that one).
    """
    from scipy.sparse import issparse
    from scipy.sparse.csgraph import dijkstra

    w = dist if issparse(dist) else np.where(np.isfinite(dist), dist, 0.0)
    d0 = dijkstra(w, directed=False, indices=0)
    u = int(np.argmax(np.where(np.isfinite(d0), d0, -1)))
    du, pred = dijkstra(w, directed=False, indices=u, return_predecessors=True)
    v = int(np.argmax(np.where(np.isfinite(du), du, -1)))
    path = [v]
    while path[-1] != u:
        path.append(int(pred[path[-1]]))
    return np.asarray(path[::-1], np.int64)


def path_turns(points: np.ndarray, window: int) -> np.ndarray:
    """Turning angle (rad) at each point of a path from the chords to the points ``window``
    steps before and after it (0 where fewer steps exist on either side).

    Shapes:
        - **points:** (L, D) -> (L,)
    """
    n = points.shape[0]
    out = np.zeros(n)
    if n < 2 * window + 1:
        return out
    k = np.arange(window, n - window)
    a = points[k] - points[k - window]
    b = points[k + window] - points[k]
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    out[k] = np.arccos(np.clip(cos, -1.0, 1.0))
    return out


@CLUSTERERS.register("cell-paths", needs_model=False)
class CellPathClusterer(Clusterer):
    """Clusters of neighbouring cells split where their longest path turns (module docstring).

    Args:
        wire_axis: the coordinate the wires run along (``z``).
        link_dist: largest transverse distance (mm) between the wires of linked hits.
        z_link: largest difference (mm) along the wires of linked hits (``inf``: no check).
        turn_max: largest turn (rad) of a single track's path over ``window`` steps.
        window: path steps on each side of a hit for its turning angle.
        max_tracks: most tracks cut out of one cluster.
        min_hits: smallest track.
    """

    name = "cell-paths"

    def __init__(self, *, wire_axis: str = "z", link_dist: float = 90.0, z_link: float = 300.0,
                 turn_max: float = 1.0, window: int = 4, max_tracks: int = 4, min_hits: int = 3) -> None:
        super().__init__(int(min_hits))
        if wire_axis not in AXES:
            raise ConfigError(f"cell-paths `wire_axis` `{wire_axis}` is not one of x, y, z")
        for key, val in (("link_dist", link_dist), ("z_link", z_link), ("turn_max", turn_max)):
            if not float(val) > 0:
                raise ConfigError(f"cell-paths `{key}` must be > 0, got `{val}`")
        if int(window) < 1 or int(max_tracks) < 1:
            raise ConfigError(f"cell-paths needs window >= 1 and max_tracks >= 1, got `{window}`, `{max_tracks}`")
        self.wire_axis = str(wire_axis)
        self.link_dist, self.z_link, self.turn_max = float(link_dist), float(z_link), float(turn_max)
        self.window, self.max_tracks = int(window), int(max_tracks)

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        from scipy.sparse import coo_matrix
        from scipy.spatial import cKDTree

        ax = AXES[self.wire_axis]
        n = pos.shape[0]
        uv = pos[:, [i for i in range(3) if i != ax]]
        w = pos[:, ax]
        # links from a k-d tree: memory grows with the links, not with n² (large events)
        i, j = cKDTree(uv).query_pairs(self.link_dist, output_type="ndarray").T.reshape(2, -1)
        keep = np.abs(w[i] - w[j]) <= self.z_link
        i, j = i[keep], j[keep]
        # link lengths (mm); + 1e-9 so that two hits on one wire stay a stored (linked) entry
        dxy = np.hypot(*(uv[i] - uv[j]).T) + 1e-9
        dist = coo_matrix((np.concatenate([dxy, dxy]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                          shape=(n, n)).tocsr()
        comp = connected_tracks(np.stack([i, j]), n)
        labels = np.full(n, -1, np.int64)
        track = 0
        for members in label_groups(comp):
            for part in self._split(members, pos, dist, self.max_tracks):
                labels[part] = track
                track += 1
        return labels

    def _split(self, members: np.ndarray, pos: np.ndarray, dist: Any, budget: int) -> list[np.ndarray]:
        """One cluster as tracks: itself, or its two sides at the sharpest turn, recursively."""
        if budget <= 1 or members.size < 2 * self.min_hits:
            return [members]
        d = dist[members][:, members]
        path = longest_path(d)
        turns = path_turns(pos[members[path]], self.window)
        k = int(np.argmax(turns))
        if turns[k] < self.turn_max:
            return [members]
        from scipy.sparse.csgraph import dijkstra

        # every hit goes to the side it is closer to along links (the turning hit: first side)
        da = dijkstra(d, directed=False, indices=path[: k + 1], min_only=True)
        db = dijkstra(d, directed=False, indices=path[k + 1:], min_only=True)
        side_a = da <= db
        a, b = members[side_a], members[~side_a]
        if a.size == 0 or b.size == 0:
            return [members]
        na = max(1, budget // 2)
        return self._split(a, pos, dist, na) + self._split(b, pos, dist, budget - na)
