from __future__ import annotations

import torch

from hepgraph.sparse import SparseTensor, nn
from hepgraph.sparse.functional import find_sites


def test_find_sites_rows_and_missing():
    coords = torch.tensor([[0, 1, 2, 3], [1, 1, 2, 3], [0, -4, 0, 7]])
    x = SparseTensor(coords, torch.zeros(3, 1))
    query = torch.tensor([[1, 1, 2, 3], [0, -4, 0, 7], [0, 1, 2, 4], [2, 1, 2, 3], [0, 1, 2, 3]])
    assert find_sites(x, query).tolist() == [1, 2, -1, -1, 0]


def test_find_sites_on_strided_tensor_and_empty():
    coords = torch.tensor([[0, 0, 0, 0], [0, 1, 1, 1], [0, 5, 4, 2]])
    y = nn.Conv3d(1, 1)(SparseTensor(coords, torch.ones(3, 1)))
    rows = find_sites(y, torch.div(coords, torch.tensor([1, 2, 2, 2]), rounding_mode="floor"))
    assert bool((rows >= 0).all())
    assert torch.equal(y.coords[rows], torch.tensor([[0, 0, 0, 0], [0, 0, 0, 0], [0, 2, 2, 1]]))
    empty = SparseTensor(torch.empty(0, 4, dtype=torch.long), torch.empty(0, 1))
    assert find_sites(empty, coords).tolist() == [-1, -1, -1]
