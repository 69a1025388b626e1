"""Trainer unit tests on in-memory batches (no store, no CLI)."""

from __future__ import annotations

import pytest
import torch

from hepgraph.events import collate_events
from hepgraph.tasks.classification import ClassificationTask
from hepgraph.runs.config import validate
from hepgraph.train.optim import cosine, onecycle, plateau
from hepgraph.train.trainer import Trainer, epoch_seed

from .hg_train_toy import ToyModel, toy_event


def _batches(n_batches=4, bs=4):
    evs = [toy_event(i) for i in range(n_batches * bs)]
    return [collate_events(evs[i * bs:(i + 1) * bs], ["charge"]) for i in range(n_batches)]


def _trainer(amp=None, grad_clip=None, epochs=3):
    torch.manual_seed(0)
    cfg = validate({"train": {"epochs": epochs, "amp": amp, "grad_clip": grad_clip, "log_every": 0}})
    model = ToyModel(1, "event", 2)
    task = ClassificationTask(num_classes=2)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    return Trainer(model, task, opt, None, cfg, torch.device("cpu"))


def test_fit_learns_and_tracks_best():
    tr = _trainer()
    batches = _batches()
    recs = tr.fit(lambda epoch: batches, len(batches), lambda: batches)
    assert [r["epoch"] for r in recs] == [1, 2, 3]
    assert recs[-1]["train_loss"] < recs[0]["train_loss"]
    assert tr.best == max(r["val_accuracy"] for r in recs)
    assert 0.0 <= recs[0]["loader_fraction"] <= 1.0


def test_grad_clip_bounds_update():
    tr = _trainer(grad_clip=1e-6)
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.optimizer = torch.optim.SGD(tr.model.parameters(), lr=1.0, momentum=0.0)
    tr.train_epoch(_batches(1), 1)
    total = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(tr.model.parameters(), before)))
    assert total.item() <= 1e-6 * 1.01  # lr 1 x clipped norm


def test_bf16_autocast_on_cpu_runs():
    tr = _trainer(amp="bf16", epochs=1)
    rec = tr.fit(lambda e: _batches(2), 2)[0]
    assert torch.isfinite(torch.tensor(rec["train_loss"]))


def test_fp16_needs_cuda():
    from hepgraph.errors import ConfigError

    with pytest.raises(ConfigError, match="fp16"):
        _trainer(amp="fp16")


def test_schedulers_shape():
    m = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    s = cosine(opt, epochs=2, steps_per_epoch=5)
    for _ in range(10):
        opt.step()
        s.scheduler.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    s = onecycle(opt, epochs=1, steps_per_epoch=10)
    lrs = []
    for _ in range(9):
        opt.step()
        s.scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert max(lrs) == pytest.approx(1.0, rel=0.05) and lrs[-1] < 0.01
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    s = plateau(opt, epochs=1, steps_per_epoch=1, patience=0, factor=0.5)
    assert s.interval == "epoch" and s.on_metric
    s.scheduler.step(1.0)
    s.scheduler.step(2.0)
    assert opt.param_groups[0]["lr"] == 0.5


def test_epoch_seed_distinct():
    assert len({epoch_seed(0, e) for e in range(100)}) == 100
    assert epoch_seed(1, 0) != epoch_seed(0, 0)


def test_best_checkpoint_is_weights_only_and_loads(toy_data, tmp_path):
    import json

    from typer.testing import CliRunner

    from hepgraph.cli.main import app
    from hepgraph.runs.load import load_run

    from .conftest import TOY_MODEL

    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                                   "--task", "classification", "--device", "cpu", "--epochs", "1",
                                   "--set", "train.max_steps_per_epoch=2"])
    assert res.exit_code == 0, res.output
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert not {"optimizer", "scheduler", "rng", "scaler"} & set(best)
    assert {"optimizer", "rng"} <= set(last)
    assert json.loads(best["metrics"])["epoch"] == 1
    assert (run / "checkpoints" / "best.pt").stat().st_size < (run / "checkpoints" / "last.pt").stat().st_size
    loaded = load_run(run)  # evaluate/predict/export load best.pt alone
    assert loaded.path.name == "best.pt"
