from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.represent.neighbors import knn_graph, radius_graph


def _random(sizes, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.rand(sum(sizes), d, generator=g) * 100.0
    ptr = torch.tensor([0, *np.cumsum(sizes).tolist()])
    return pos, ptr


def _edge_sets(ei):
    return set(map(tuple, ei.t().tolist()))


def _sklearn_knn(pos, ptr, k):
    from sklearn.neighbors import NearestNeighbors

    edges = set()
    p = ptr.tolist()
    for s, e in zip(p[:-1], p[1:]):
        n = e - s
        if n < 2:
            continue
        kk = min(k, n - 1)
        nn = NearestNeighbors(n_neighbors=kk + 1).fit(pos[s:e].numpy())
        _, idx = nn.kneighbors(pos[s:e].numpy())
        for i in range(n):
            nb = [j for j in idx[i] if j != i][:kk]
            edges |= {(j + s, i + s) for j in nb}
    return edges


@pytest.mark.parametrize("backend", ["torch", "kdtree"])
def test_knn_matches_sklearn(backend):
    pos, ptr = _random([50, 0, 3, 70, 1])
    ei = knn_graph(pos, ptr, k=5, backend=backend, chunk=16)
    assert _edge_sets(ei) == _sklearn_knn(pos, ptr, 5)
    # never crosses events: source and target in the same event
    ev = torch.bucketize(ei, ptr[1:], right=True)
    assert torch.equal(ev[0], ev[1])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_knn_cuda_matches_sklearn():
    pos, ptr = _random([50, 0, 3, 70, 1])
    pos = pos + 1000.0  # far from the origin: the GPU path centres each event
    ei = knn_graph(pos.cuda(), ptr.cuda(), k=5, backend="torch", chunk=16)
    assert _edge_sets(ei.cpu()) == _sklearn_knn(pos, ptr, 5)


def test_knn_high_dim_and_loop():
    pos, ptr = _random([30, 20], d=16, seed=3)
    a = knn_graph(pos, ptr, k=4, backend="torch")
    b = knn_graph(pos, ptr, k=4, backend="kdtree")
    assert _edge_sets(a) == _edge_sets(b)
    lo = knn_graph(pos, ptr, k=4, loop=True)
    assert (lo[0] == lo[1]).sum() == 50
    assert lo.shape[1] == 50 * 4


def _brute_radius(pos, ptr, r):
    edges = set()
    p = ptr.tolist()
    for s, e in zip(p[:-1], p[1:]):
        d = torch.cdist(pos[s:e].double(), pos[s:e].double())
        i, j = torch.nonzero(d <= r, as_tuple=True)
        edges |= {(jj + s, ii + s) for ii, jj in zip(i.tolist(), j.tolist()) if ii != jj}
    return edges


@pytest.mark.parametrize("backend", ["torch", "kdtree"])
def test_radius_matches_sklearn(backend):
    from sklearn.neighbors import NearestNeighbors

    pos, ptr = _random([60, 0, 40])
    ei = radius_graph(pos, ptr, r=20.0, max_num_neighbors=None, backend=backend, chunk=8)
    ref = set()
    for s, e in [(0, 60), (60, 100)]:
        nn = NearestNeighbors(radius=20.0).fit(pos[s:e].numpy())
        _, idx = nn.radius_neighbors(pos[s:e].numpy())
        for i, nb in enumerate(idx):
            ref |= {(j + s, i + s) for j in nb if j != i}
    assert _edge_sets(ei) == ref == _brute_radius(pos, ptr, 20.0)


@pytest.mark.parametrize("backend", ["torch", "kdtree"])
def test_radius_max_neighbors_keeps_nearest(backend):
    pos, ptr = _random([80])
    ei = radius_graph(pos, ptr, r=40.0, max_num_neighbors=3, backend=backend)
    full = radius_graph(pos, ptr, r=40.0, max_num_neighbors=None, backend=backend)
    knn = knn_graph(pos, ptr, k=3, backend=backend)
    # the 3 nearest within r = kNN edges that are within r
    d = (pos[knn[0]] - pos[knn[1]]).norm(dim=1)
    assert _edge_sets(ei) == _edge_sets(knn[:, d <= 40.0])
    assert _edge_sets(ei) <= _edge_sets(full)


def test_empty_and_errors():
    pos = torch.zeros(0, 3)
    ptr = torch.tensor([0, 0])
    assert knn_graph(pos, ptr, k=3).shape == (2, 0)
    assert radius_graph(pos, ptr, r=1.0, backend="torch").shape == (2, 0)
    with pytest.raises(ConfigError, match="`0`"):
        knn_graph(pos, ptr, k=0)
    with pytest.raises(ConfigError, match="backend"):
        knn_graph(pos, ptr, k=3, backend="faiss")
