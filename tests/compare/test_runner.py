from __future__ import annotations

import json

import pytest

from hepgraph.compare.runner import time_to_target
from hepgraph.errors import ConfigError


def test_time_to_target_max_and_min():
    hist = [{"epoch": 1, "train_time_s": 2.0, "val_accuracy": 0.5, "val_loss": 1.0},
            {"epoch": 2, "train_time_s": 3.0, "val_accuracy": 0.8, "val_loss": 0.4},
            {"epoch": 3, "train_time_s": 4.0, "val_accuracy": 0.9, "val_loss": 0.2}]
    assert time_to_target(hist, "val_accuracy", 0.75, "max") == (2, 5.0)
    assert time_to_target(hist, "val_loss", 0.2, "min") == (3, 9.0)
    assert time_to_target(hist, "val_accuracy", 0.95, "max") == (None, None)
    assert time_to_target(hist, "val_accuracy", None, "max") == (None, None)


def test_compare_same_split_seed_and_epochs(compared):
    res, out = compared
    assert [m["model"] for m in res["models"]] == ["mlp", "edgeconv"]
    for m in res["models"]:
        assert m["epochs"] == 2 and len(m["history"]) == 2
        assert m["headline"] == "accuracy"
        # the test split is the same for every model: same number of test events
        assert m["test"]["events"] == res["models"][0]["test"]["events"] == m["test_events"] > 0
        assert 0.0 <= m["test"]["accuracy"] <= 1.0
        assert m["parameters"] > 0 and m["train_events_per_s"] > 0 and m["infer_events_per_s"] > 0
        assert m["peak_train_mib"] >= 0.0
        assert m["target_epoch"] == 1  # target 0.0 is reached at the first epoch
        assert m["target_seconds"] == pytest.approx(m["history"][0]["train_time_s"])
        cfg = (out / "models" / m["model"] / "run" / "config.yaml").read_text()
        assert "seed: 3" in cfg
    assert (out / "models" / "edgeconv" / "run" / "config.yaml").read_text().count("k: 4") >= 1


def test_parameter_count_matches_model(compared):
    from hepgraph.compare.measure import count_parameters
    from hepgraph.runs.load import load_run

    res, _ = compared
    for m in res["models"]:
        assert m["parameters"] == count_parameters(load_run(m["run_dir"]).model)


def test_test_metrics_match_evaluate_output(compared):
    res, out = compared
    for m in res["models"]:
        on_disk = json.loads((out / "models" / m["model"] / "test" / "metrics.json").read_text())
        assert on_disk["accuracy"] == pytest.approx(m["test"]["accuracy"])


def test_budget_stops_after_first_epoch(toy_data, tmp_path):
    from hepgraph.compare import train_and_evaluate
    from tests.compare.conftest import TINY

    r = train_and_evaluate(toy_data, "mlp", tmp_path / "m", budget_minutes=0.0, device="cpu",
                           overrides=TINY["mlp"], batch_size=16)
    assert r["budget_stopped"] and r["epochs"] == 1


def test_errors(toy_data, tmp_path):
    from hepgraph.compare import compare_models, train_and_evaluate

    with pytest.raises(ConfigError, match="`epochs=N`"):
        train_and_evaluate(toy_data, "mlp", tmp_path / "a")
    with pytest.raises(ConfigError, match="`mlp` is given twice"):
        compare_models(toy_data, ["mlp", "mlp"], tmp_path / "b", epochs=1)
    with pytest.raises(ConfigError, match="no models"):
        compare_models(toy_data, [], tmp_path / "c", epochs=1)
