from __future__ import annotations

import numpy as np

from hepgraph.cluster.cell_paths import CellPathClusterer, longest_path, path_turns


def _cells(points, cell=44.0):
    """Wire positions (cell centres) of the cells a polyline crosses, in order."""
    out = []
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        for t in np.linspace(0, 1, 60, endpoint=False):
            c = (np.floor(np.array([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]) / cell) + 0.5) * cell
            if not out or not np.allclose(out[-1], c):
                out.append(c)
    return np.array(out)


def test_path_turns_by_hand():
    pts = np.array([[0, 0], [1, 0], [2, 0], [2, 1], [2, 2]], float)
    t = path_turns(pts, 1)
    assert t[0] == 0 and t[1] == 0 and np.isclose(t[2], np.pi / 2) and t[4] == 0
    d = np.full((3, 3), np.inf)
    d[0, 1] = d[1, 0] = d[1, 2] = d[2, 1] = 1.0
    assert longest_path(d).tolist() in ([0, 1, 2], [2, 1, 0])


def test_a_v_from_a_common_vertex_gives_two_tracks_and_a_bent_track_one():
    a = _cells([(0, 0), (400, 150)])
    b = _cells([(0, 0), (380, -260)])[1:]          # shares the vertex cell with a
    xy = np.r_[a, b]
    z = np.r_[np.linspace(0, 300, len(a)), np.linspace(-10, -200, len(b))]
    lab = CellPathClusterer(window=3).cluster({"x": xy[:, 0], "y": xy[:, 1], "z": z})
    assert len(set(lab[len(a) // 2:len(a)])) == 1 and len(set(lab[len(a) + len(b) // 2:])) == 1
    assert lab[len(a) - 1] != lab[-1] and (lab >= 0).all()
    bent = _cells([(0, 0), (200, 40), (400, 140)])   # a 0.3 rad scattering kink
    lab = CellPathClusterer().cluster({"x": bent[:, 0], "y": bent[:, 1], "z": np.zeros(len(bent))})
    assert (lab == 0).all()


def test_far_apart_cells_are_separate_tracks():
    a = _cells([(0, 0), (300, 0)])
    b = a + np.array([0.0, 1000.0])
    xy = np.r_[a, b]
    lab = CellPathClusterer().cluster({"x": xy[:, 0], "y": xy[:, 1], "z": np.zeros(len(xy))})
    assert len(set(lab[: len(a)])) == 1 and len(set(lab[len(a):])) == 1 and lab[0] != lab[-1]


def test_memory_grows_with_links_not_with_the_square_of_the_hits():
    """20,000 hits: a dense n x n link matrix would take 0.4 GB (bool) to 3.2 GB (float)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    tracks = [_cells([(x, 0.0), (x + 200.0, 400.0)]) for x in np.arange(0.0, 100_000.0, 1000.0)]
    xy = np.concatenate(tracks)
    xy = np.r_[xy, rng.uniform([0, 0], [4e6, 4e4], (20_000 - len(xy), 2)) + [0, 3000]]  # sparse noise, far off
    tracemalloc.start()
    lab = CellPathClusterer().cluster({"x": xy[:, 0], "y": xy[:, 1], "z": np.zeros(len(xy))})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 150e6
    n0 = len(tracks[0])
    assert len(set(lab[:n0])) == 1 and lab[0] >= 0 and lab[0] != lab[n0]   # first track whole, apart
