"""Datasets are read only as written: checksums verified, shard paths confined (issue 17)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

from .helpers import copy_dataset, flip, one_line_exit2

runner = CliRunner()


def _manifest(ds):
    return json.loads((ds / "_manifest.json").read_text())


def _write_manifest(ds, m):
    (ds / "_manifest.json").write_text(json.dumps(m))


def _first_shard(ds):
    return ds / _manifest(ds)["shards"][0]["path"]


@pytest.mark.parametrize(("offset", "n"), [(2000, 1), (-40, 64)], ids=["one-byte", "footer-64"])
def test_flipped_bytes_stop_every_reader(toy_data, toy_run, tmp_path, offset, n):
    ds = copy_dataset(toy_data, tmp_path / "ds")
    shard = _first_shard(ds)
    flip(shard, offset, n)
    name = shard.name
    for cmd in (["evaluate", str(toy_run), "--data", str(ds), "--out", str(tmp_path / "ev"), "--split", "all"],
                ["predict", str(toy_run), "--data", str(ds), "--out", str(tmp_path / "p.parquet")],
                ["train", "--model", "mlp", "--data", str(ds), "--out", str(tmp_path / "r"), "--task",
                 "classification", "--epochs", "1", "--workers", "1"],
                ["verify", str(ds)], ["info", str(ds), "--verify"]):
        one_line_exit2(runner.invoke(app, cmd), name)
    assert not (tmp_path / "p.parquet").exists() and not (tmp_path / "ev").exists()


def test_verify_command_passes_on_an_intact_dataset(toy_data):
    res = runner.invoke(app, ["verify", str(toy_data)])
    assert res.exit_code == 0, res.output
    assert "ok: 2 shard(s)" in res.output


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_shard_paths_outside_the_dataset_are_refused(toy_data, tmp_path, kind):
    ds = copy_dataset(toy_data, tmp_path / "ds")
    outside = tmp_path / "x.parquet"
    m = _manifest(ds)
    os.replace(ds / m["shards"][0]["path"], outside)
    if kind == "parent":
        m["shards"][0]["path"] = "../x.parquet"
    elif kind == "absolute":
        m["shards"][0]["path"] = str(outside)
    else:
        os.symlink(outside, ds / m["shards"][0]["path"])
    _write_manifest(ds, m)
    for cmd in (["info", str(ds)], ["verify", str(ds)],
                ["train", "--model", "mlp", "--data", str(ds), "--out", str(tmp_path / "r")]):
        one_line_exit2(runner.invoke(app, cmd), "outside the dataset")


@pytest.mark.parametrize(("key", "value"), [("schema_version", "x"), ("shards", {"a": 1}),
                                            ("counts", [])])
def test_damaged_manifest_is_one_line(toy_data, tmp_path, key, value):
    ds = copy_dataset(toy_data, tmp_path / "ds")
    m = _manifest(ds)
    m[key] = value
    _write_manifest(ds, m)
    one_line_exit2(runner.invoke(app, ["info", str(ds)]), "rebuild the dataset")


@pytest.mark.parametrize("extra", ["x", {"field_T": "abc"}, {"field_T": float("nan")}, {"field_T": True}])
def test_damaged_physics_in_the_manifest_is_one_line(toy_data, tmp_path, extra):
    ds = copy_dataset(toy_data, tmp_path / "ds")
    m = _manifest(ds)
    m["extra"] = extra
    _write_manifest(ds, m)
    res = runner.invoke(app, ["cluster", "--data", str(ds), "--method", "hough", "--out", str(tmp_path / "c.csv")])
    one_line_exit2(res, "extra")   # was a ValueError traceback (float("abc") in the clusterer defaults)
    assert not (tmp_path / "c.csv").exists()
