"""Models under ``torch.autocast`` (AMP): forward and backward run and stay finite.

CUDA autocast runs ``exp``/``softmax`` in fp32 while linear layers give bf16, so a
scatter must accumulate in its messages' dtype, not its input's; that mix only occurs on
CUDA (the cuda case runs where a GPU is present). The CPU case covers the bf16 paths.
"""

from __future__ import annotations

import pytest
import torch

from hepgraph.models import create_model, list_models, model_info

CASES = [
    (n, lvl)
    for n in list_models()
    # shipped models only: a test registers its own toy models, in whatever order files are collected
    if model_info(n)["cls"].__module__.startswith("hepgraph.")
    and model_info(n)["family"] in ("graph", "transformer", "mlp") or n in ("sparse-resnet18", "sparse-unet")
    for lvl in model_info(n)["levels"]
]


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")],
    ),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, level", CASES)
def test_forward_backward_under_bf16_autocast(name, level, device, event_factory, kwargs_for):
    from hepgraph.events import collate_events

    batch = collate_events(event_factory([30, 0, 17], seed=3), features=["charge"]).to(device)
    torch.manual_seed(0)
    model = create_model(name, in_channels=1, level=level, out_channels=3, **kwargs_for(name))
    model = model.to(device)
    with torch.autocast(device, dtype=torch.bfloat16):
        y = model(batch)["out"]
    assert torch.isfinite(y.float()).all()
    y.float().square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
