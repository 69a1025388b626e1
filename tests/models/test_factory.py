from __future__ import annotations

import pytest

from hepgraph.errors import ConfigError, UnknownNameError
from hepgraph.models import create_model, list_models, model_info
from hepgraph.models.factory import FAMILIES, REPRESENTATIONS
from hepgraph.registry import MODELS

REQUIRED = [
    *(f"dense-resnet{d}{s}" for d in (18, 34, 50, 101, 152) for s in ("", "-3d", "-multiview")),
    "inception-cvn", "small-cnn", "mlp", "sparse-resnet18", "sparse-resnet34", "sparse-resnet50",
    "sparse-unet", "edgeconv", "gravnet", "interaction-network", "gatv2", "point-transformer",
]


def test_every_required_model_is_registered_with_metadata():
    names = list_models()
    assert set(REQUIRED) <= set(names)
    for n in names:
        meta = model_info(n)
        assert meta["family"] in FAMILIES and meta["representation"] in REPRESENTATIONS
        assert set(meta["levels"]) <= {"event", "hit", "edge", "generate"} and meta["levels"]
    assert list_models("sparse-*") == ["sparse-resnet18", "sparse-resnet34", "sparse-resnet50", "sparse-unet"]


def test_family_alias_resolves_to_default_size():
    m = create_model("dense-resnet", in_channels=1, level="event", out_channels=2,
                     base_channels=2, image_shape=(8, 8))
    assert m.depth == 18
    s = create_model("sparse-resnet", in_channels=1, level="event", out_channels=2, base_channels=2)
    assert s.depth == 18


def test_errors_name_the_bad_value():
    with pytest.raises(UnknownNameError, match="`gravnett`.*gravnet"):
        create_model("gravnett", in_channels=1, level="hit", out_channels=2)
    with pytest.raises(ConfigError, match="level `edge`"):
        create_model("inception-cvn", in_channels=1, level="edge", out_channels=2)
    with pytest.raises(ConfigError, match="hiden_channels: unknown key.*hidden_channels"):
        create_model("gravnet", in_channels=1, level="hit", out_channels=2, hiden_channels=3)
    with pytest.raises(ConfigError, match="divisible"):
        create_model("dense-resnet18", in_channels=1, level="event", out_channels=2, image_shape=(12, 12))


def test_none_kwargs_are_dropped():
    m = create_model("gravnet", in_channels=1, level="hit", out_channels=2, k=None, hidden_channels=8)
    assert m.blocks[0]["conv"].k == 16 and "gravnet" in MODELS
