"""The shipped parameter counts are what a fresh build gives (else: regenerate the catalogue)."""

from __future__ import annotations

import json

import pytest

from hepgraph.models import list_models
from hepgraph.models.catalogue import CATALOGUE, count_parameters, model_key, model_rows

SHIPPED = json.loads(CATALOGUE.read_text())


@pytest.mark.parametrize("name", list_models(), ids=str)
def test_catalogue_entry_is_current(name):
    if name not in SHIPPED:
        pytest.skip(f"{name} is not a shipped model (a plugin or a test model): counted live")
    fix = "run `python -m hepgraph.models.catalogue` after changing a model"
    assert SHIPPED[name]["key"] == model_key(name), fix
    assert SHIPPED[name]["parameters"] == count_parameters(name), fix


def test_rows_use_the_catalogue_only_for_default_sizes():
    row = model_rows("mlp")[0]
    assert row["parameters"] == count_parameters("mlp") and "classification" in row["tasks"]
    wide = model_rows("mlp", in_channels=7)[0]
    assert wide["parameters"] == count_parameters("mlp", in_channels=7) != row["parameters"]
