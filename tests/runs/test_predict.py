"""predict writes what the model computes, keyed by event_id / hit_id, in Parquet and ROOT."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .conftest import TOY_MODEL

runner = CliRunner()


def _train(data, run, task, *extra):
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(data), "--out", str(run),
                              "--task", task, "--epochs", "1", "--device", "cpu", *extra])
    assert res.exit_code == 0, res.output


def _reference(run, data, task_level):
    """Independent recomputation: load the checkpoint by hand and run the events one by one."""
    import hepgraph
    from hepgraph.events import collate_events
    from hepgraph.runs.load import load_run

    lr = load_run(run)
    ds = hepgraph.open_dataset(data)
    outs = []
    with torch.no_grad():
        for i in range(len(ds)):
            b = collate_events([ds[i]], lr.features)
            outs.append(lr.task.infer(lr.model(b), b))
    return ds, outs


@pytest.mark.slow
def test_predict_regression_parquet_and_root(toy_data, tmp_path):
    import pyarrow.parquet as pq
    import uproot

    run = tmp_path / "run"
    _train(toy_data, run, "regression", "--targets", "px,py")
    for suffix in ("parquet", "root"):
        out = tmp_path / f"pred.{suffix}"
        res = runner.invoke(app, ["predict", str(run), "--data", str(toy_data), "--out", str(out), "--device", "cpu"])
        assert res.exit_code == 0, res.output
    tab = pq.read_table(tmp_path / "pred.parquet").to_pydict()
    root = uproot.open(tmp_path / "pred.root")["predictions"].arrays(library="np")
    ds, ref = _reference(run, toy_data, "event")
    assert tab["event_id"] == ds.event_ids().tolist()
    want_mean = np.concatenate([r["mean"].numpy() for r in ref])
    want_sigma = np.concatenate([r["sigma"].numpy() for r in ref])
    np.testing.assert_allclose(tab["pred_px"], want_mean[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tab["sigma_py"], want_sigma[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(root["event_id"], ds.event_ids())
    np.testing.assert_allclose(root["pred_py"], want_mean[:, 1], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_predict_segmentation_per_hit(toy_data, tmp_path):
    import pyarrow.parquet as pq
    import uproot

    run = tmp_path / "run"
    _train(toy_data, run, "segmentation")
    for suffix in ("parquet", "root"):
        res = runner.invoke(app, ["predict", str(run), "--data", str(toy_data), "--out",
                                  str(tmp_path / f"p.{suffix}"), "--device", "cpu"])
        assert res.exit_code == 0, res.output
    tab = pq.read_table(tmp_path / "p.parquet").to_pydict()
    ds, ref = _reference(run, toy_data, "hit")
    hit_ids = np.concatenate([ds[i]["hit_id"] for i in range(len(ds))])
    assert tab["hit_id"] == hit_ids.tolist()
    probs = np.concatenate([r["probs"].numpy() for r in ref])
    np.testing.assert_allclose(tab["prob_noise"], probs[:, 2], rtol=1e-5, atol=1e-6)
    assert tab["pred"] == probs.argmax(1).tolist()
    t = uproot.open(tmp_path / "p.root")["predictions"].arrays(library="ak")
    assert len(t) == len(ds)  # one entry per event (friendable)
    assert t["hit", "hit_id"][3].tolist() == ds[3]["hit_id"].tolist()


def test_predict_bad_suffix(tmp_path, toy_data):
    res = runner.invoke(app, ["predict", str(tmp_path), "--data", str(toy_data), "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and ".parquet or .root" in res.output
