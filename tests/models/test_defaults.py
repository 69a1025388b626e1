"""A variant's defaults live in one place (its registration): ``create_model``, ``hepgraph
train`` and ``hepgraph models`` build the same network (on the meta device: no memory)."""

from __future__ import annotations

import pytest
import torch

from hepgraph.models import create_model, list_models, model_info
from hepgraph.models.factory import variant_kwargs
from hepgraph.runs.build import model_kwargs


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", list_models(), ids=str)
def test_registered_defaults_build_and_match_training(name):
    level = model_info(name)["levels"][0]
    with torch.device("meta"):
        direct = create_model(name, in_channels=2, level=level, out_channels=3)
        trained = create_model(name, in_channels=2, level=level, out_channels=3,
                               **model_kwargs(name, {}, None))
    assert _params(direct) > 0
    shapes = [[(n, tuple(p.shape)) for n, p in m.named_parameters()] for m in (direct, trained)]
    assert shapes[0] == shapes[1]


def test_variant_defaults_apply_and_user_values_win():
    assert variant_kwargs("sparse-resnet18", {})["base_channels"] == 32
    assert "base_channels" not in variant_kwargs("sparse-resnet34", {})
    assert variant_kwargs("sparse-resnet18", {"base_channels": 8, "k": None})["base_channels"] == 8
    with torch.device("meta"):
        small = create_model("sparse-resnet18", in_channels=1, level="event", out_channels=2)
        wide = create_model("sparse-resnet18", in_channels=1, level="event", out_channels=2, base_channels=64)
    assert _params(wide) > 3 * _params(small)


def test_models_listing_counts_what_training_builds():
    from hepgraph.models.catalogue import model_rows

    row = model_rows("sparse-resnet18")[0]
    with torch.device("meta"):
        m = create_model("sparse-resnet18", in_channels=1, level=row["levels"][0], out_channels=2,
                         **model_kwargs("sparse-resnet18", {}, None))
    assert row["parameters"] == _params(m)
