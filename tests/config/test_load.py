from __future__ import annotations

import pytest

from hepgraph.config import apply_overrides, deep_merge, load_config, parse_set
from hepgraph.errors import ConfigError


def test_parse_set_parses_yaml_values():
    assert parse_set("train.lr=1e-3") == (["train", "lr"], 1e-3)
    assert parse_set("data.features=[x, y]") == (["data", "features"], ["x", "y"])
    assert parse_set("model.name=gravnet") == (["model", "name"], "gravnet")
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_set("no-equals-sign")


def test_deep_merge_keeps_nested_keys():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_overrides_refuse_to_descend_into_values():
    with pytest.raises(ConfigError, match="is a value"):
        apply_overrides({"a": 1}, ["a.b=2"])


def test_load_config_includes_then_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("train: {epochs: 5, lr: 0.1}\nseed: 1\n")
    (tmp_path / "exp.yaml").write_text("include: [base.yaml]\ntrain: {lr: 0.01}\n")
    cfg = load_config(tmp_path / "exp.yaml", ["seed=7"])
    assert cfg == {"train": {"epochs": 5, "lr": 0.01}, "seed": 7}


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "loop.yaml").write_text("include: [loop.yaml]\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_config(tmp_path / "loop.yaml")


def test_yaml_files_read_exponent_floats(tmp_path):
    (tmp_path / "c.yaml").write_text("lr: 1e-3\nname: 1e3x\n")
    assert load_config(tmp_path / "c.yaml") == {"lr": 1e-3, "name": "1e3x"}
