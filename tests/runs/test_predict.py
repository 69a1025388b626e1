"""predict writes what the model computes, keyed by event_id / hit_id, with the truth, in
ROOT (a flat TTree), Parquet and CSV."""

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
    for suffix in ("parquet", "root", "csv"):
        out = tmp_path / f"pred.{suffix}"
        res = runner.invoke(app, ["predict", str(run), "--data", str(toy_data), "--out", str(out), "--device", "cpu"])
        assert res.exit_code == 0, res.output
    tab = pq.read_table(tmp_path / "pred.parquet").to_pydict()
    f = uproot.open(tmp_path / "pred.root")
    assert f.classnames()["predictions;1"] == "TTree"
    root = f["predictions"].arrays(library="np")
    ds, ref = _reference(run, toy_data, "event")
    assert tab["event_id"] == ds.event_ids().tolist()
    truth = [ds[i] for i in range(len(ds))]
    np.testing.assert_allclose(tab["px"], [e["px"] for e in truth], rtol=1e-6)  # the truth, to compare
    np.testing.assert_allclose(root["py"], [e["py"] for e in truth], rtol=1e-6)
    import pyarrow.csv as pcsv

    assert pcsv.read_csv(tmp_path / "pred.csv").column_names == list(tab)
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
    assert tab["semantic"] == np.concatenate([ds[i]["semantic"] for i in range(len(ds))]).tolist()
    t = uproot.open(tmp_path / "p.root")
    rows = t["predictions"].arrays(library="np")
    assert len(rows["hit_id"]) == len(hit_ids)  # one entry per hit, keyed by (event_id, hit_id)
    np.testing.assert_array_equal(rows["hit_id"], hit_ids)
    np.testing.assert_allclose(rows["prob_noise"], probs[:, 2], rtol=1e-5, atol=1e-6)
    names = t["classes"].arrays(library="np")["name"].tolist()
    assert names[2] == "noise" and rows["pred"].max() < len(names)


def test_predict_bad_suffix_and_existing_output(tmp_path, toy_data):
    res = runner.invoke(app, ["predict", str(tmp_path), "--data", str(toy_data), "--out", str(tmp_path / "p.txt")])
    assert res.exit_code == 2 and ".root, .parquet" in res.output
    kept = tmp_path / "p.root"
    kept.write_text("an analysis file")
    res = runner.invoke(app, ["predict", str(tmp_path), "--data", str(toy_data), "--out", str(kept)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert kept.read_text() == "an analysis file"


def test_truth_columns_per_level():
    from types import SimpleNamespace

    from hepgraph.runs.predict import truth_columns

    batch = SimpleNamespace(event={"label": torch.tensor([1, 0]), "px": torch.tensor([0.5, 1.5])},
                            hit={"semantic": torch.tensor([0, 2, 1]), "hit_id": torch.tensor([4, 5, 6])})
    ev = SimpleNamespace(level="event", columns=("label",))
    assert truth_columns(ev, batch, {}, {"pred"})["label"].tolist() == [1, 0]
    assert list(truth_columns(ev, batch, {}, {"label"})) == ["true_label"]  # a prediction has that name
    hit = SimpleNamespace(level="hit", columns=("semantic", "hit_id"))
    got = truth_columns(hit, batch, {}, set())
    assert list(got) == ["semantic"] and got["semantic"].tolist() == [0, 2, 1]  # hit_id is a key, not truth
    unlabelled = SimpleNamespace(level="event", columns=("n_tracks",))
    assert truth_columns(unlabelled, batch, {}, set()) == {}
