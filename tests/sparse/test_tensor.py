from __future__ import annotations

import pytest
import torch

from hepgraph.errors import DataError
from hepgraph.sparse import SparseTensor
from tests.sparse.helpers import DEVICES, random_coords


@pytest.mark.parametrize("device", DEVICES)
def test_dense_roundtrip_keeps_empty_entries(device):
    coords = random_coords(3, 6, [10, 0, 7, 0], device=device)
    feats = torch.randn(coords.shape[0], 3, device=device)
    x = SparseTensor(coords, feats, batch_size=4)
    d = x.dense([6, 6, 6])
    assert d.shape == (4, 3, 6, 6, 6)
    assert d[1].abs().sum() == 0 and d[3].abs().sum() == 0
    torch.testing.assert_close(d.movedim(1, -1)[tuple(coords.t())], feats)
    assert d.movedim(1, -1).abs().sum(-1).gt(0).sum() == coords.shape[0]
    y = SparseTensor.from_dense(d)
    assert y.batch_size == 4
    torch.testing.assert_close(y.dense([6, 6, 6]), d)


def test_dense_default_shape_and_grad():
    coords = torch.tensor([[0, 1, 2], [1, 3, 0]])
    feats = torch.randn(2, 2, requires_grad=True)
    d = SparseTensor(coords, feats).dense()
    assert d.shape == (2, 2, 4, 3)
    d.sum().backward()
    assert torch.equal(feats.grad, torch.ones(2, 2))


def test_duplicates_rejected_and_reduced():
    coords = torch.tensor([[0, 1, 1, 1], [0, 2, 2, 2], [0, 1, 1, 1]])
    feats = torch.tensor([[1.0], [5.0], [3.0]])
    with pytest.raises(DataError, match=r"duplicate coordinates.*\[0, 1, 1, 1\]"):
        SparseTensor(coords, feats)
    for reduce, want in [("sum", 4.0), ("mean", 2.0), ("max", 3.0)]:
        x = SparseTensor.from_points(coords, feats, reduce=reduce)
        assert len(x) == 2
        row = (x.coords == torch.tensor([0, 1, 1, 1])).all(1).nonzero().item()
        assert x.feats[row].item() == want
        torch.testing.assert_close(x.coords[x.inverse_map], coords)
        assert torch.equal(x.coords, coords[x.unique_index])
    with pytest.raises(DataError, match="reduce"):
        SparseTensor.from_points(coords, feats, reduce="median")


def test_bad_inputs_raise():
    with pytest.raises(DataError, match="integer"):
        SparseTensor(torch.zeros(2, 4), torch.zeros(2, 1))
    with pytest.raises(DataError, match="shape"):
        SparseTensor(torch.zeros(2, 4, dtype=torch.long), torch.zeros(3, 1))
    with pytest.raises(DataError, match=r"\|c\|"):
        SparseTensor(torch.tensor([[0, 20000, 0, 0]]), torch.zeros(1, 1))
    with pytest.raises(DataError, match="batch"):
        SparseTensor(torch.tensor([[-1, 0, 0, 0]]), torch.zeros(1, 1))
    with pytest.raises(DataError, match="batch_size"):
        SparseTensor(torch.tensor([[3, 0, 0, 0]]), torch.zeros(1, 1), batch_size=2)


def test_replace_to_and_repr():
    x = SparseTensor(torch.tensor([[0, 0, 1], [0, 2, 2]]), torch.ones(2, 3), stride=2)
    y = x.replace(torch.zeros(2, 5))
    assert y.manager is x.manager and y.stride == (2, 2) and y.num_channels == 5
    with pytest.raises(DataError):
        x.replace(torch.zeros(3, 5))
    z = x.to(torch.float64)
    assert z.dtype == torch.float64 and z.manager is x.manager
    assert "sites=2" in repr(x) and "stride=(2, 2)" in repr(x)
    assert torch.equal((x + x).feats, 2 * x.feats)


def test_autocast_feature_ops():
    x = SparseTensor(torch.tensor([[0, 0, 1], [0, 2, 2]]), torch.ones(2, 3))
    lin = torch.nn.Linear(3, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = x.replace(lin(x.feats))
    assert y.feats.dtype == torch.bfloat16
