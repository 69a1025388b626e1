"""hepgraph generate: generated events are a normal dataset; the CLI end to end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.errors import ConfigError

runner = CliRunner()


def _tpc_events(n=30):
    from hepgraph.events import table_to_events, validate_table
    from hepgraph.sources.simulate.pad_tpc import PadTPC

    src = PadTPC(seed=1, params={"pad_cols": 24})
    return table_to_events(validate_table(src.simulate(np.random.default_rng(1), n, 0)))


def _loaded(tmp_path):
    from hepgraph.models import create_model
    from hepgraph.tasks.generate import GenerateTask

    torch.manual_seed(0)
    model = create_model("cond-gan", in_channels=1, level="generate", out_channels=1, hidden_channels=8,
                         num_blocks=1).eval()
    model.prepare(_tpc_events())
    task = GenerateTask(field_T=0.2, field_axis="x", detector={"detector": "pad-tpc", "field_T": 0.2})
    cfg = SimpleNamespace(model=SimpleNamespace(name="cond-gan"))
    return SimpleNamespace(model=model, task=task, config=cfg, path=tmp_path / "run")


def test_generated_events_are_a_dataset_with_truth_and_targets(tmp_path):
    import hepgraph
    from hepgraph.runs.generate import GeneratedSource
    from hepgraph.store.writer import build_dataset

    src = GeneratedSource(_loaded(tmp_path), 25, seed=3)
    out = build_dataset(src, tmp_path / "gen", seed=3)
    ds = hepgraph.open_dataset(out)
    assert len(ds) == 25 and ds.manifest["source"]["name"] == "generated"
    assert ds.manifest["extra"]["detector"] == "pad-tpc" and "generator" in ds.manifest["extra"]
    ev = ds[0]
    assert {"x", "y", "z", "charge", "pad_col", "track_id", "particle_px", "p", "pt"} <= set(ev)
    assert (ev["track_id"] == ev["particle_id"][0]).all() and (ev["pad_col"] < 24).all()
    assert ev["p"] == pytest.approx(float(np.linalg.norm([ev[f"particle_p{a}"][0] for a in "xyz"])), rel=1e-5)
    # every event target the simulator writes, from the particle (field along x: p_perp in y-z)
    sim = _tpc_events(2)[0]
    assert {k for k in sim if np.ndim(sim[k]) == 0} - {"label"} <= set(ev)
    assert ev["p_perp"] == pytest.approx(float(np.hypot(ev["particle_py"][0], ev["particle_pz"][0])), rel=1e-5)
    assert ev["q_p_perp"] == pytest.approx(float(ev["particle_q"][0]) * float(ev["p_perp"]), rel=1e-5)
    # same seed, same events
    again = hepgraph.open_dataset(build_dataset(GeneratedSource(_loaded(tmp_path), 25, seed=3), tmp_path / "g2", seed=3))
    np.testing.assert_array_equal(again[4]["x"], ds[4]["x"])


def test_like_pairs_the_conditions_event_by_event(tmp_path):
    from hepgraph.runs.generate import GeneratedSource
    from hepgraph.store.writer import build_dataset
    from hepgraph.sources.simulate.pad_tpc import PadTPC

    like = build_dataset(PadTPC(seed=2, params={"pad_cols": 24, "events": 12}), tmp_path / "like")
    src = GeneratedSource(_loaded(tmp_path), 20, like=like)
    raw = src.conditions(src.plan()[0])
    import hepgraph

    ds = hepgraph.open_dataset(like)
    for i in (0, 5, 13):                      # 13 wraps round to event 1
        np.testing.assert_allclose(raw[i, :3], [ds[i % 12][f"particle_p{a}"][0] for a in "xyz"], rtol=1e-6)


def test_a_run_of_another_task_is_refused(tmp_path):
    from hepgraph.runs.generate import GeneratedSource

    loaded = _loaded(tmp_path)
    loaded.model = torch.nn.Linear(1, 1)
    loaded.task = SimpleNamespace(name="regression")
    with pytest.raises(ConfigError, match="`task.name=generate`"):
        GeneratedSource(loaded, 5)


@pytest.mark.slow
def test_train_generate_evaluate_through_the_cli(tmp_path):
    from tests.reliability.helpers import one_line_exit2

    ds, run, gen = tmp_path / "tpc", tmp_path / "run", tmp_path / "gen"
    res = runner.invoke(app, ["build-dataset", "--source", "sim-pad-tpc", "--out", str(ds), "--events", "60",
                              "--set", "pad_cols=24"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["train", "--model", "flow-matching", "--task", "generate", "--data", str(ds), "--out",
                              str(run), "--epochs", "1", "--batch-size", "16", "--set", "model.hidden_channels=8",
                              "--set", "model.num_blocks=1", "--set", "model.steps=2"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["generate", str(run), "--out", str(gen), "--events", "30"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["info", str(gen)])
    assert res.exit_code == 0 and "30 events" in res.output
    res = runner.invoke(app, ["evaluate", str(run), "--data", str(ds), "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ev" / "generator_tracks.png").is_file()
    one_line_exit2(runner.invoke(app, ["generate", str(run), "--out", str(gen), "--events", "5"]), "already exists")
    one_line_exit2(runner.invoke(app, ["predict", str(run), "--data", str(ds), "--out", str(tmp_path / "p.csv")]),
                   "hepgraph generate")


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"events": 10**12}, r"`events` `1000000000000` is more than one generated dataset holds"),
    ({"events": 5, "seed": -1}, r"`seed` `-1` must be in \[0, 2\^63\)"),
])
def test_absurd_counts_and_seeds_are_refused_before_work(tmp_path, kwargs, pattern):
    from hepgraph.runs.generate import GeneratedSource

    with pytest.raises(ConfigError, match=pattern):
        GeneratedSource(_loaded(tmp_path), **kwargs)


@pytest.mark.parametrize(("device", "pattern"), [("bogus", "device `bogus` is not one of auto, cpu, cuda"),
                                                 ("cuda", "no CUDA device is available")])
def test_generate_checks_the_device_first(tmp_path, device, pattern):
    from tests.reliability.helpers import one_line_exit2

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    res = runner.invoke(app, ["generate", str(tmp_path), "--out", str(tmp_path / "g"), "--device", device])
    one_line_exit2(res, pattern)
    assert not (tmp_path / "g").exists()
