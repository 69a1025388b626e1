"""Model summary: shapes and sizes against hand counts."""

from __future__ import annotations

import pytest

from hepgraph.models import create_model
from hepgraph.models.summary import summarize, synthetic_batch


def test_mlp_summary_shapes_and_bytes():
    m = create_model("mlp", in_channels=2, level="hit", out_channels=3, hidden_channels=16, num_layers=2)
    s = summarize(m, events=3, hits=40)
    assert s.events == 3 and s.hits == 120 and s.output_shape == (120, 3)
    assert s.parameters == sum(p.numel() for p in m.parameters()) == s.trainable
    by_name = {lay.name: lay for lay in s.layers}
    first = by_name["trunk.0"]  # Linear(2 + 3 positions -> 16)
    assert first.kind == "Linear" and first.shape == (120, 16) and first.parameters == 5 * 16 + 16
    assert first.activation_bytes == 120 * 16 * 4
    leaves = [lay for lay in s.layers if lay.kind != "Sequential"]
    assert s.activation_bytes == sum(lay.activation_bytes for lay in leaves)


@pytest.mark.parametrize("name,level", [("gravnet", "edge"), ("interaction-network", "edge"),
                                        ("sparse-resnet18", "event"), ("small-cnn", "event")])
def test_every_family_summarises(name, level):
    kw = {"base_channels": 4} if name.startswith("sparse") else {}
    m = create_model(name, in_channels=1, level=level, out_channels=2, **kw)
    s = summarize(m, batch=synthetic_batch(1, 2, 60, getattr(m, "extent", None)))
    assert s.output_shape is not None and s.output_shape[1] == 2
    assert s.activation_bytes > 0 and any(lay.shape for lay in s.layers)
