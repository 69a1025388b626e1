from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def exact_fp32_reference():
    """Use full fp32 in cuDNN/cuBLAS (no TF32) so dense references are exact to 1e-5 on GPUs.

    Ampere and later GPUs run ``F.conv3d`` in TF32 by default (10-bit mantissa), which
    alone differs from fp32 by ~1e-4; the comparisons here are of fp32 results.
    """
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old
