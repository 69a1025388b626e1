"""The traceable kNN equals the per-event search, also inside an ONNX graph of other sizes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from hepgraph.represent.neighbors import knn_graph
from hepgraph.represent.traced import knn_graph_traced


@pytest.mark.parametrize("loop", [False, True])
def test_matches_knn_graph_with_small_and_empty_events(loop):
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(40, 3, generator=g) * 100
    ptr = torch.tensor([0, 2, 2, 25, 40])  # an event smaller than k and an empty one
    ref = knn_graph(pos, ptr, 4, loop=loop, backend="torch")
    got = knn_graph_traced(pos, ptr, 4, loop=loop)
    assert torch.equal(got, ref)
    assert got.shape[1] < 40 * 4  # the 2-hit event has fewer than k neighbours


@pytest.mark.parametrize("ptr", [[0, 0], [0, 0, 0], [0, 1], [0, 0, 1]])
def test_batches_of_zero_and_one_hit(ptr):
    pos = torch.rand(ptr[-1], 3)
    got = knn_graph_traced(pos, torch.tensor(ptr), 4)
    assert got.shape == (2, 0) and torch.equal(got, knn_graph(pos, torch.tensor(ptr), 4, backend="torch"))


class _Knn(torch.nn.Module):
    def forward(self, pos: torch.Tensor, ptr: torch.Tensor) -> torch.Tensor:
        return knn_graph(pos, ptr, 3)


def _session(ort, path):
    """The kNN (k = 3) exported to ONNX with dynamic sizes, traced on 12 hits in 2 events."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Knn(), (torch.rand(12, 3), torch.tensor([0, 5, 12])), str(path), dynamo=False,
                          opset_version=18, input_names=["pos", "ptr"], output_names=["ei"],
                          dynamic_axes={"pos": {0: "n"}, "ptr": {0: "b"}})
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_onnx_knn_runs_on_other_sizes(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "knn.onnx"
    sess = _session(ort, path)
    for n, ptr in ((30, [0, 30]), (7, [0, 1, 4, 7]), (1, [0, 1]), (0, [0, 0]), (0, [0, 0, 0])):
        pos = torch.rand(n, 3)
        got = sess.run(None, {"pos": pos.numpy(), "ptr": np.array(ptr, np.int64)})[0]
        assert np.array_equal(got, knn_graph(pos, torch.tensor(ptr), 3).numpy())


def test_equal_distances_taken_in_row_order_also_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    # a voxel grid with duplicate hits: many neighbours at exactly equal distance
    g = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = torch.cat([g, g[:10]])  # 74 hits, 10 duplicated
    ptr = torch.tensor([0, 30, 74])
    ei = knn_graph_traced(pos, ptr, 6)
    for i in (0, 40):  # each query's neighbours: sorted by distance, then by row
        j = ei[0, ei[1] == i]
        d = (pos[j] - pos[i]).pow(2).sum(1)
        key = d * 1000 + j.double()
        assert torch.equal(key, key.sort().values)
    path = tmp_path / "knn.onnx"
    sess = _session(ort, path)
    got = sess.run(None, {"pos": pos.numpy(), "ptr": ptr.numpy()})[0]
    assert np.array_equal(got, knn_graph_traced(pos, ptr, 3).numpy())
