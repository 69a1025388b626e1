from __future__ import annotations

import pytest

from hepgraph.errors import ConfigError
from hepgraph.registry import check_kwargs
from hepgraph.runs.config import Component, validate
from hepgraph.train.run import resolve


def test_unknown_keys_name_path_and_closest():
    with pytest.raises(ConfigError, match=r"^train\.lrr: unknown key \(did you mean lr\?\)$"):
        validate({"train": {"lrr": 1e-3}})
    with pytest.raises(ConfigError, match=r"^trian: unknown key \(did you mean train\?\)$"):
        validate({"trian": {}})
    with pytest.raises(ConfigError, match=r"data\.wokers: unknown key \(did you mean workers\?\)"):
        validate({"data": {"wokers": 2}})


def test_types_are_coerced_and_checked():
    cfg = validate({"train": {"lr": "1e-3", "epochs": 3.0, "optimizer": "sgd"}, "seed": 5})
    assert cfg.train.lr == 1e-3 and cfg.train.epochs == 3 and cfg.seed == 5
    assert cfg.train.optimizer == Component("sgd")
    with pytest.raises(ConfigError, match="train.epochs: `2.5` is not a valid int"):
        validate({"train": {"epochs": 2.5}})
    with pytest.raises(ConfigError, match="train.amp `fp8`"):
        validate({"train": {"amp": "fp8"}})
    with pytest.raises(ConfigError, match="train.lr"):
        validate({"train": {"lr": 0}})


def test_max_batch_hits_default_set_and_checked():
    from hepgraph.cli.flags import cli_message
    from hepgraph.train.run import resolve

    assert validate({}).train.max_batch_hits == 250_000
    assert validate({"train": {"max_batch_hits": "1e5"}}).train.max_batch_hits == 100_000
    assert validate({"train": {"max_batch_hits": None}}).train.max_batch_hits is None
    assert resolve(None, {}, ["train.max_batch_hits=5000"]).train.max_batch_hits == 5000
    for bad in (0, -3):
        with pytest.raises(ConfigError) as info:
            validate({"train": {"max_batch_hits": bad}})
        assert str(info.value).startswith(f"`train.max_batch_hits={bad}` must be a positive number of hits")
        assert "--" not in str(info.value)
        assert cli_message(info.value).startswith(f"--set train.max_batch_hits={bad} ")
    with pytest.raises(ConfigError, match="train.max_batch_hits: `many` is not a valid int"):
        validate({"train": {"max_batch_hits": "many"}})


def test_round_trip_to_dict():
    cfg = validate({"model": {"name": "m", "k": 4}, "task": "regression",
                    "train": {"scheduler": {"name": "cosine", "eta_min": 0.1}}})
    again = validate(cfg.to_dict())
    assert again == cfg


def test_component_kwargs_checked_against_signature():
    def fn(in_channels: int, level: str, out_channels: int, hidden_channels: int = 8) -> None: ...

    check_kwargs(fn, {"hidden_channels": 4}, where="model", injected=("in_channels", "level", "out_channels"))
    with pytest.raises(ConfigError, match=r"model\.hiden_channels: unknown key \(did you mean hidden_channels\?\)"):
        check_kwargs(fn, {"hiden_channels": 4}, where="model", injected=("in_channels",))
    with pytest.raises(ConfigError, match="set by hepgraph"):
        check_kwargs(fn, {"in_channels": 4}, where="model", injected=("in_channels",))


def test_resolve_yaml_flags_and_set(tmp_path):
    y = tmp_path / "exp.yaml"
    y.write_text("model: mlp\ntrain: {epochs: 7, lr: 0.1}\ntask: {name: regression, targets: [px]}\n")
    cfg = resolve(y, {"train.epochs": 3, "data.train": "ds", "model.name": None}, ["train.lr=0.5", "seed=9"])
    assert cfg.model.name == "mlp" and cfg.train.epochs == 3 and cfg.train.lr == 0.5 and cfg.seed == 9
    assert cfg.task.kwargs["targets"] == ["px"]
    with pytest.raises(ConfigError, match=r"train\.lrr: unknown key"):
        resolve(None, {}, ["train.lrr=1"])


def test_a_section_set_to_null_or_a_value_is_refused_not_reset(tmp_path):
    y = tmp_path / "exp.yaml"
    y.write_text("model: mlp\ntrain: {epochs: 7, lr: 0.1}\n")
    with pytest.raises(ConfigError, match=r"^`train` must be a mapping of settings, got null; .*`train\.epochs=VALUE`"):
        resolve(y, {}, ["train=null"])
    with pytest.raises(ConfigError, match=r"^`eval` must be a mapping of settings, got `5`"):
        resolve(None, {}, ["eval=5"])
    with pytest.raises(ConfigError, match=r"^`data` must be a mapping of settings, got null"):
        validate({"data": None})
    assert resolve(y, {}, ["train.epochs=2"]).train.lr == 0.1   # one key still overrides one key
    assert validate({}).train.epochs == validate({"train": {}}).train.epochs   # absent = defaults


def _experiments():
    from hepgraph.config import configs_dir

    return sorted((configs_dir() / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", _experiments(), ids=lambda p: p.stem)
def test_shipped_experiments_validate(path):
    from hepgraph.registry import MODELS
    from hepgraph.runs.build import build_task, model_kwargs

    import hepgraph.models  # noqa: F401

    cfg = resolve(path, {"data.train": "unused"}, [])
    if cfg.model.name not in MODELS:
        pytest.skip(f"{cfg.model.name} not registered yet")
    model_kwargs(cfg.model.name, cfg.model.kwargs, None)  # kwargs checked against the model
    build_task(cfg.task, None)
