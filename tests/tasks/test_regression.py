from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError, DataError
from hepgraph.tasks.regression import RegressionTask


def test_nll_by_hand_and_destandardised_outputs(toy_batch, toy_manifest):
    task = RegressionTask(targets="px,py")
    task.check(toy_manifest)
    task.fit({"px": np.array([1.0, 3.0]), "py": np.array([0.0, 2.0])})
    assert task.mean.tolist() == [2.0, 1.0] and task.std.tolist() == [1.0, 1.0]
    out = torch.tensor([[0.5, -0.5, 0.0, np.log(4.0)]] * 4, dtype=torch.float32)
    res = task({"out": out}, toy_batch)
    y = torch.stack([toy_batch.event["px"], toy_batch.event["py"]], 1).float()
    ys = y - torch.tensor([2.0, 1.0])
    logvar = torch.tensor([0.0, float(np.log(4.0))])
    want = 0.5 * (logvar + (ys - torch.tensor([0.5, -0.5])) ** 2 / logvar.exp()).mean()
    assert torch.allclose(res["loss"], want, atol=1e-6)
    assert torch.allclose(res["output"]["mean"][0], torch.tensor([2.5, 0.5]))
    assert torch.allclose(res["output"]["sigma"][0], torch.tensor([1.0, 2.0]))
    cols = task.predictions(res, toy_batch)
    assert set(cols) == {"event_id", "pred_px", "sigma_px", "pred_py", "sigma_py"}
    m = task.metrics(task.collect(res, toy_batch))
    assert m["px/bias"] == pytest.approx(float((2.5 - y[:, 0]).mean()), rel=1e-5)


def test_mse_has_no_sigma(toy_batch):
    task = RegressionTask(targets=["pz"], loss="mse")
    out = torch.zeros(4, 2)
    res = task({"out": out}, toy_batch)
    assert torch.allclose(res["loss"], (toy_batch.event["pz"].float() ** 2).mean())
    assert "sigma" not in res["output"]


def test_unknown_target_lists_valid(toy_manifest):
    with pytest.raises(ConfigError, match=r"unknown regression target `energy`; valid: .*px"):
        RegressionTask(targets=["energy"]).check(toy_manifest)
    with pytest.raises(ConfigError, match="task.targets"):
        RegressionTask().check(toy_manifest)
    bare = {"columns": {"event_id": {}, "x": {}, "label": {}}}
    with pytest.raises(DataError, match="no event-level targets"):
        RegressionTask(targets=["px"]).check(bare)
    with pytest.raises(ConfigError, match="nll, mse"):
        RegressionTask(targets=["px"], loss="l1")


def test_inverse_transform_regresses_the_curvature(toy_batch, toy_manifest):
    task = RegressionTask(targets=["px"], transforms={"px": "inverse"})
    task.check(toy_manifest)
    y = toy_batch.event["px"].double().numpy()
    task.fit({"px": y})
    u = 1.0 / y
    assert task.mean.item() == pytest.approx(u.mean(), rel=1e-5)
    assert task.std.item() == pytest.approx(u.std(), rel=1e-5)
    # A network output of (0, log 0.25): u = mean, sigma_u = 0.5 std.
    out = torch.tensor([[0.0, np.log(0.25)]] * 4, dtype=torch.float32)
    res = task({"out": out}, toy_batch)
    u_s = (torch.tensor(u, dtype=torch.float32) - task.mean) / task.std
    want = 0.5 * (np.log(0.25) + u_s**2 / 0.25).mean()
    assert res["loss"].item() == pytest.approx(want.item(), rel=1e-5)
    mean_y = 1.0 / task.mean.item()
    assert np.allclose(res["output"]["mean"].numpy(), mean_y, rtol=1e-5)
    sig_u = 0.5 * task.std.item()
    assert np.allclose(res["output"]["sigma"].numpy(), sig_u * mean_y**2, rtol=1e-4)
    m = task.metrics(task.collect(res, toy_batch))
    assert m["px/bias"] == pytest.approx(float((mean_y - y).mean()), rel=1e-4)
    assert m["inverse_px/bias"] == pytest.approx(float((task.mean.item() - u).mean()), rel=1e-3, abs=1e-6)
    assert m["inverse_px/pull_std"] == pytest.approx(float(np.std((task.mean.item() - u) / sig_u)), rel=1e-3)
    assert task.hparams()["transforms"] == {"px": "inverse"}
    assert RegressionTask(**task.hparams()).transforms == {"px": "inverse"}


def test_log_transform_and_errors(toy_manifest):
    task = RegressionTask(targets=["px"], transforms={"px": "log"})
    mean = task.infer({"out": torch.tensor([[0.0, 0.0]])}, None)["mean"]
    assert mean.item() == pytest.approx(1.0)                     # exp(0 * std + 0)
    with pytest.raises(DataError, match="positive"):
        task.fit({"px": np.array([1.0, -2.0])})
    with pytest.raises(DataError, match="zeros"):
        RegressionTask(targets=["px"], transforms={"px": "inverse"}).fit({"px": np.array([0.0, 1.0])})
    with pytest.raises(ConfigError, match="identity, inverse, log"):
        RegressionTask(targets=["px"], transforms={"px": "sqrt"})
    with pytest.raises(ConfigError, match="not a target"):
        RegressionTask(targets=["px"], transforms={"py": "log"}).check(toy_manifest)
    with pytest.raises(ConfigError, match="must map targets"):
        RegressionTask(targets=["px"], transforms=["log"])


def test_beta_nll_weights_each_term_by_sigma_to_the_2beta(toy_batch):
    y = toy_batch.event["px"].float().unsqueeze(1)
    logvar = torch.tensor([[-1.0], [0.0], [1.0], [2.0]])
    out = torch.cat([torch.zeros(4, 1), logvar], 1).requires_grad_(True)
    plain = RegressionTask(targets=["px"])
    beta = RegressionTask(targets=["px"], beta=0.5)
    nll = 0.5 * (logvar + y**2 * torch.exp(-logvar))
    assert plain({"out": out}, toy_batch)["loss"].item() == pytest.approx(nll.mean().item(), rel=1e-6)
    loss = beta({"out": out}, toy_batch)["loss"]
    assert loss.item() == pytest.approx((nll * torch.exp(0.5 * logvar)).mean().item(), rel=1e-6)
    # The weight is not differentiated: d loss / d mean = -(y - mu) / sigma^2 * sigma / 4 events.
    (g,) = torch.autograd.grad(loss, out)
    assert torch.allclose(g[:, 0], -(y[:, 0]) * torch.exp(-0.5 * logvar[:, 0]) / 4, atol=1e-6)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        RegressionTask(targets=["px"], beta=2.0)


def test_validation_nll_is_the_plain_loss_and_the_headline(toy_batch, toy_manifest):
    for beta in (0.0, 0.5):
        task = RegressionTask(targets="px,py", beta=beta)
        task.fit({"px": np.array([1.0, 3.0]), "py": np.array([0.0, 2.0])})
        out = torch.tensor([[0.3, -0.2, 0.5, -1.0]] * 4, dtype=torch.float32)
        res = task({"out": out}, toy_batch)
        plain = RegressionTask(targets="px,py", mean=task.mean.tolist(), std=task.std.tolist())
        want = plain({"out": out}, toy_batch)["loss"].item()
        assert task.metrics(task.collect(res, toy_batch))["nll"] == pytest.approx(want, rel=1e-5)
    assert RegressionTask.headline == ("nll", "min")
    mse = RegressionTask(targets="px", loss="mse")
    assert "nll" not in mse.metrics(mse.collect(mse({"out": torch.zeros(4, 2)}, toy_batch), toy_batch))


def test_constant_target_trains_on_a_unit_scale_and_warns(toy_batch, caplog):
    """A target with the same value in every event: std 0 would divide by zero; the scale is 1,
    the loss stays finite, and the log says the target is constant."""
    import logging

    task = RegressionTask(targets=["pz"])
    with caplog.at_level(logging.WARNING, logger="hepgraph"):
        task.fit({"pz": np.full(40, 5.0)})
    assert "`pz` is 5 in all 40 training events" in caplog.text
    assert float(task.std[0]) == 1.0 and float(task.mean[0]) == 5.0
    toy_batch.event["pz"] = torch.full((4,), 5.0)
    res = task({"out": torch.zeros(4, 2)}, toy_batch)
    assert torch.isfinite(res["loss"])
    m = task.metrics(task.collect(res, toy_batch))
    assert all(np.isfinite(v) for v in m.values() if isinstance(v, float))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hepgraph"):
        task.fit({"pz": np.array([1.0, 2.0])})
    assert not caplog.text
