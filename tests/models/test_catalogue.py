"""The shipped catalogue is what the registry and a fresh build give (else: regenerate it), and
`hepgraph models` reads it without importing torch unless a plugin could add models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hepgraph.models import list_models, model_info
from hepgraph.models.catalogue import CATALOGUE, catalogue_entry, count_parameters, model_rows

SHIPPED = json.loads(CATALOGUE.read_text())
ROOT = Path(__file__).resolve().parents[2]
FIX = "run `python -m hepgraph.models.catalogue` after changing a model"


@pytest.mark.parametrize("name", list_models(), ids=str)
def test_catalogue_entry_is_current(name):
    if name not in SHIPPED:
        assert not model_info(name)["cls"].__module__.startswith("hepgraph."), f"{name} is missing; {FIX}"
        pytest.skip(f"{name} is not a shipped model (a plugin or a test model): counted live")
    assert SHIPPED[name] == {**catalogue_entry(name), "parameters": count_parameters(name)}, FIX


def test_catalogue_names_are_registered():
    assert set(SHIPPED) <= set(list_models()), FIX


def test_rows_use_the_catalogue_only_for_default_sizes():
    row = model_rows("mlp")[0]
    assert row["parameters"] == count_parameters("mlp") and "classification" in row["tasks"]
    wide = model_rows("mlp", in_channels=7)[0]
    assert wide["parameters"] == count_parameters("mlp", in_channels=7) != row["parameters"]


def _rows_in_a_fresh_process(env: dict[str, str]) -> tuple[list[str], bool]:
    code = ("import json, sys\nfrom hepgraph.cli.cmd_models import listing\n"
            "rows = listing('*', 1)\nprint(json.dumps([[r['name'] for r in rows], 'torch' in sys.modules]))")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_listing_without_plugins_needs_no_torch_and_matches_the_registry():
    """The same rows as the live registry gives, in a process that never imports torch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HEPGRAPH_DISABLE_PLUGINS": "1"}
    names, torch_loaded = _rows_in_a_fresh_process(env)
    assert not torch_loaded
    shipped = sorted(n for n in list_models() if model_info(n)["cls"].__module__.startswith("hepgraph."))
    assert names == shipped == [r["name"] for r in model_rows() if r["name"] in shipped]


def test_an_installed_plugin_is_listed(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "train"))
    from hg_train_toy import write_plugin_dist

    site = write_plugin_dist(tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if k != "HEPGRAPH_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "train"), str(site)])
    names, torch_loaded = _rows_in_a_fresh_process(env)
    assert "toy-model" in names and "mlp" in names and torch_loaded
