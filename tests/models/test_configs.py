"""Every configs/models/*.yaml builds its model (on the meta device: no memory)."""

from __future__ import annotations

import pytest
import torch

from hepgraph.config.load import load_config, configs_dir
from hepgraph.models import create_model, model_info

FILES = sorted((configs_dir() / "models").glob("*.yaml"))


def test_configs_exist():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_config_builds(path):
    block = dict(load_config(path)["model"])
    name = block.pop("name")
    assert name == path.stem
    with torch.device("meta"):
        m = create_model(name, in_channels=2, level=model_info(name)["levels"][0], out_channels=3, **block)
    assert sum(p.numel() for p in m.parameters()) > 0
