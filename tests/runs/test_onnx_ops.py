"""Custom ONNX symbolics give PyTorch's values in onnxruntime, for inputs of other sizes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from hepgraph.runs.onnx_ops import register_symbolics


class _Ops(torch.nn.Module):
    def forward(self, x: torch.Tensor, index: torch.Tensor, ptr: torch.Tensor) -> torch.Tensor:
        b = ptr.shape[0] - 1  # a dynamic size, as the export wrapper passes it
        cnt = torch.bincount(index, minlength=b).to(x.dtype).unsqueeze(1)  # (B, 1)
        mx = x.new_zeros(b, x.shape[1]).scatter_reduce(
            0, index.unsqueeze(1).expand_as(x), x, reduce="amax", include_self=False)
        s = x.new_zeros(b, x.shape[1]).index_add_(0, index, x)
        return torch.cat([cnt, mx, s], dim=1)


def test_bincount_scatter_max_index_add_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    register_symbolics(18)
    path = tmp_path / "ops.onnx"
    x, idx, ptr = -torch.rand(6, 2) - 1, torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([0, 2, 5, 6])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Ops(), (x, idx, ptr), str(path), dynamo=False, opset_version=18,
                          input_names=["x", "index", "ptr"], output_names=["out"],
                          dynamic_axes={"x": {0: "n"}, "index": {0: "n"}, "ptr": {0: "b"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # other sizes, negative values (a max that starts from 0 would be wrong), an empty event
    x = -torch.rand(9, 2) - 1
    idx = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])
    ptr = torch.tensor([0, 3, 3, 5, 9, 9])
    got = sess.run(None, {"x": x.numpy(), "index": idx.numpy(), "ptr": ptr.numpy()})[0]
    ref = _Ops()(x, idx, ptr).numpy()
    assert got.shape == (5, 5)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    assert (ref[:, 1:3][[0, 2, 3]] < 0).all()
