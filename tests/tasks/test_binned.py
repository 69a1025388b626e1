from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.tasks.binned import BinnedRegressionTask, binned_metrics


def _task(**kw):
    t = BinnedRegressionTask(target="px", **kw)
    return t


def test_bins_follow_numpy_digitize_and_loss_is_cross_entropy(toy_batch, toy_manifest):
    task = _task(bins=[-10.0, -1.0, 0.0, 1.0, 10.0])
    task.check(toy_manifest)
    y = toy_batch.event["px"].double().numpy()
    task.fit({"px": y})
    t = task.targets(toy_batch)
    np.testing.assert_array_equal(t["bin"].numpy(), np.digitize(y, [-1.0, 0.0, 1.0]))
    logits = torch.randn(4, 4)
    res = task({"out": logits}, toy_batch)
    assert torch.allclose(res["loss"], torch.nn.functional.cross_entropy(logits, t["bin"]))
    assert task.out_channels == 4


def test_median_and_expectation_estimates_by_hand(toy_batch):
    task = _task(bins=[0.0, 1.0, 2.0], estimate="median", medians=[0.25, 1.75])
    out = torch.log(torch.tensor([[0.8, 0.2], [0.3, 0.7]] * 2))
    v = task.infer({"out": out}, toy_batch)["value"]
    assert v.tolist() == [0.25, 1.75, 0.25, 1.75]
    task2 = _task(bins=[0.0, 1.0, 2.0], estimate="expectation", medians=[0.25, 1.75])
    v2 = task2.infer({"out": out}, toy_batch)["value"]
    np.testing.assert_allclose(v2.numpy(), [0.8 * 0.25 + 0.2 * 1.75, 0.3 * 0.25 + 0.7 * 1.75] * 2, rtol=1e-6)


def test_fit_sets_edges_medians_and_threshold_from_training_values():
    task = BinnedRegressionTask(target="pt", bins=2, spacing="uniform")
    task.fit({"pt": np.array([1.0, 2.0, 3.0, 9.0])})
    assert task.edges.tolist() == [1.0, 5.0, 9.0]
    assert task.medians.tolist() == [2.0, 9.0]
    assert task.threshold == 2.5
    rebuilt = BinnedRegressionTask(**task.hparams())
    assert rebuilt.edges.tolist() == task.edges.tolist() and rebuilt.names() == ["1-5", "5-9"]
    with pytest.raises(ConfigError, match="bin_range"):
        BinnedRegressionTask(target="pt", bins=3, spacing="log").fit({"pt": np.array([0.0, 1.0])})


def test_metrics_on_a_hand_computed_case():
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    y = np.array([5.0, 15.0, 25.0, 25.0])
    probs = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 1, 0]], float)
    value = np.array([24.0, 26.0, 24.0, 16.0])
    m = binned_metrics(y, probs, value, edges, 20.0, ["a", "b", "c"])
    # true bins [0, 1, 2, 2], predicted [2, 2, 2, 1]
    assert m["accuracy"] == 0.25
    assert m["accuracy_within_1"] == 0.75
    assert m["confusion_matrix"] == [[0, 0, 1], [0, 0, 1], [0, 1, 1]]
    assert m["bias"] == pytest.approx(np.mean([19, 11, -1, -9]))
    # passing = value >= 20: [T, T, T, F]; true >= 20: events 2, 3 -> 1/2; true < 20: events 0, 1 -> 2/2
    assert m["efficiency_above"] == 0.5 and m["rate_below"] == 1.0
    assert m["rel_bias"] == pytest.approx(np.mean([19 / 5, 11 / 15, -1 / 25, -9 / 25]))
    assert len(m["turn_on"]["centres"]) == 30


def test_one_target_and_known_names(toy_manifest):
    with pytest.raises(ConfigError, match="one target"):
        BinnedRegressionTask(targets=["px", "py"])
    assert BinnedRegressionTask(targets="py").target == "py"
    with pytest.raises(ConfigError, match="unknown binned-regression target `energy`"):
        BinnedRegressionTask(target="energy").check(toy_manifest)
    with pytest.raises(ConfigError, match="estimate `mode`"):
        BinnedRegressionTask(target="px", estimate="mode")


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"bins": 10**9}, r"task.bins `1000000000`: give 2 to 1024 bins"),               # was an out-of-memory kill
    ({"bins": 10**9, "bin_range": [0.0, 5.0]}, "give 2 to 1024 bins"),
    ({"bins": list(range(2000))}, "explicit edges must be 3 to 1025"),
    ({"bins": 0}, "give 2 to 1024 bins"),
    ({"bins": [0, 2, 1, 3]}, "strictly increasing"),
    ({"bins": 5, "bin_range": ["a", "b"]}, r"task.bin_range `\['a', 'b'\]` must be \[lo, hi\] \(numbers\)"),
    ({"bins": 5, "bin_range": 5}, "task.bin_range `5`"),
    ({"bins": 5, "bin_range": [0.0, 5.0], "spacing": "log"}, r"task.bin_range `\[0.0, 5.0\]`: log bins need lo > 0"),
])
def test_bad_bins_are_config_errors(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        BinnedRegressionTask(target="pt", **kwargs)
    BinnedRegressionTask(target="pt", bins=1024, bin_range=[0.0, 5.0])
