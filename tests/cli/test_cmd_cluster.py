from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.events.table import table_from_events
from hepgraph.sources.base import Source

sys.path.insert(0, str(Path(__file__).parents[1] / "cluster"))
from _tracks import straight_event  # noqa: E402

runner = CliRunner()


class _ToySource(Source):
    """Two events of 5 straight tracks + noise, then an empty event."""

    name = "toy-tracks"

    def config(self):
        return {}

    def plan(self, max_events=None):
        return [0]

    def read(self, task):
        events = []
        for i in range(2):
            ev = straight_event()
            n = len(ev["x"])
            events.append({"event_id": 10 + i, "x": ev["x"].astype(np.float32), "y": ev["y"].astype(np.float32),
                           "z": ev["z"].astype(np.float32), "hit_id": np.arange(100, 100 + n),
                           "track_id": ev["track_id"].astype(np.int64)})
        events.append({"event_id": 12, "x": np.zeros(0, np.float32), "y": np.zeros(0, np.float32),
                       "z": np.zeros(0, np.float32), "hit_id": np.zeros(0, np.int64),
                       "track_id": np.zeros(0, np.int64)})
        yield table_from_events(events)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from hepgraph.store import build_dataset

    return build_dataset(_ToySource(), tmp_path_factory.mktemp("ds") / "toy")


def test_dbscan_csv_and_metrics(dataset, tmp_path):
    out = tmp_path / "a.csv"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "dbscan", "--out", str(out),
                            "--set", "eps=150", "--set", "min_samples=2", "--split", "all"])
    assert r.exit_code == 0, r.output
    t = pcsv.read_csv(out).to_pydict()
    assert list(t) == ["event_id", "hit_id", "track_id"]
    assert len(t["hit_id"]) == 2 * 53 and set(t["event_id"]) == {10, 11}
    assert t["hit_id"][:3] == [100, 101, 102]
    lab = np.array(t["track_id"][:53])
    assert (lab[-3:] == -1).all() and len(set(lab[:-3].tolist())) == 5
    rep = json.loads((tmp_path / "a.metrics.json").read_text())
    m = rep["metrics"]
    assert m["trackml_score"] == 1.0 and m["efficiency"] == 1.0 and m["fake_rate"] == 0.0
    assert m["events"] == 3 and rep["split"] == "all" and rep["events"] == 3
    assert "trackml score" in r.output


def test_hough_parquet_json(dataset, tmp_path):
    out = tmp_path / "b.parquet"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "hough", "--out", str(out),
                            "--set", "field_T=0", "--json", "--split", "all"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["metrics"]["efficiency"] == 1.0
    assert pq.read_table(out).num_rows == 106


@pytest.mark.parametrize("args,msg", [
    (["--method", "gnn"], "needs a trained model"),
    (["--method", "condensation"], "--task condensation"),
    (["--method", "dbscan", "--run", "."], "only for the learned methods"),
    (["--method", "gnn", "--run", "/nonexistent"], "not a training run"),
    (["--method", "dbscn"], "Did you mean `dbscan`"),
    (["--method", "dbscan", "--set", "epz=3"], "epz"),
])
def test_bad_input_exits_2(dataset, tmp_path, args, msg):
    out = tmp_path / "c.csv"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    assert msg in " ".join(r.output.split())
    assert not out.exists() and not list(tmp_path.iterdir())


def test_bad_extension(dataset, tmp_path):
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "dbscan", "--out", str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and ".parquet" in r.output and ".csv" in r.output


def _split_sizes(dataset):
    import hepgraph

    ds = hepgraph.open_dataset(dataset)
    return {s: len(ds.split(s)) for s in ("train", "val", "test")}


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_split_is_recorded_and_only_its_events_are_clustered(dataset, tmp_path, split):
    out = tmp_path / "s.csv"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "hough", "--out", str(out),
                            "--set", "field_T=0", "--split", split, "--json"])
    if _split_sizes(dataset)[split] == 0:          # an empty split is refused, nothing written
        assert r.exit_code == 2 and f"the {split} split of this dataset holds no events" in r.output
        assert not out.exists()
        return
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["split"] == split and rep["events"] == _split_sizes(dataset)[split]


def test_default_split_is_test(dataset, tmp_path):
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "hough", "--set", "field_T=0",
                            "--out", str(tmp_path / "d.csv"), "--json"])
    assert _split_sizes(dataset)["test"] == 0 and r.exit_code == 2 and "the test split" in r.output


def test_existing_output_is_refused_and_kept_unless_overwrite(dataset, tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("precious")
    args = ["cluster", "--data", str(dataset), "--method", "hough", "--set", "field_T=0", "--out", str(out),
            "--split", "all"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--overwrite" in r.output
    assert out.read_text() == "precious" and not (tmp_path / "o.metrics.json").exists()
    r = runner.invoke(app, [*args, "--overwrite"])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith('"event_id"')
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary left


def test_tune_writes_settings_that_config_takes(dataset, tmp_path):
    import yaml

    settings = tmp_path / "hough.yaml"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--method", "hough", "--tune", "--trials", "4",
                            "--set", "field_T=0", "--out", str(settings)])
    if _split_sizes(dataset)["val"] == 0:
        assert r.exit_code == 2 and "validation events" in " ".join(r.output.split())
        return
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(settings.read_text())
    assert doc["method"] == "hough" and doc["options"]["field_T"] == 0 and "efficiency" in doc["validation"]
    out = tmp_path / "t.csv"
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--config", str(settings), "--out", str(out),
                            "--split", "all", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["method"] == "hough"


def test_config_and_method_must_agree(dataset, tmp_path):
    settings = tmp_path / "s.yaml"
    settings.write_text("method: hough\noptions: {field_T: 0}\n")
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--config", str(settings), "--method", "dbscan",
                            "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "differs" in r.output
    settings.write_text("method: [os, system]\n")
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--config", str(settings), "--out",
                            str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "method: NAME" in " ".join(r.output.split())
    r = runner.invoke(app, ["cluster", "--data", str(dataset), "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "--method" in r.output
