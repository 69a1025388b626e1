from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from test_trackml import write_event  # noqa: E402

from hepgraph.cli.main import app  # noqa: E402
from hepgraph.store.manifest import MANIFEST_NAME  # noqa: E402

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1, text
    assert text.startswith("error:") and "Traceback" not in text
    for n in needles:
        assert n in text, text


@pytest.fixture
def tml(tmp_path):
    for n in (1, 2):
        write_event(tmp_path / "in", n, gz=True)
    return tmp_path / "in"


def test_build_and_summary(tml, tmp_path):
    res = run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds",
              "--set", "events_per_shard=1", "--seed", 3)
    assert res.exit_code == 0, res.output
    assert "events" in res.output and "hits" in res.output
    m = json.loads((tmp_path / "ds" / MANIFEST_NAME).read_text())
    assert m["counts"] == {"events": 2, "hits": 8, "particles": 6}
    assert m["seed"] == 3 and len(m["shards"]) == 2
    assert m["source"]["config"]["params"]["events_per_shard"] == 1


def test_positional_inputs_and_events(tml, tmp_path):
    files = sorted(str(p) for p in tml.glob("*-hits.csv.gz"))
    res = run("build-dataset", "--source", "trackml", "--out", tmp_path / "ds", "--events", 1, *files)
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "ds" / MANIFEST_NAME).read_text())["counts"]["events"] == 1


def _nothing_written(tmp_path, keep=("in",)):
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_missing_input(tmp_path):
    (tmp_path / "in").mkdir()
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tmp_path / "nope", "--out",
                       tmp_path / "ds"), "nope", "does not exist")
    _nothing_written(tmp_path)


def test_existing_output(tml, tmp_path):
    (tmp_path / "ds").mkdir()
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds"),
                   "--overwrite")
    assert list((tmp_path / "ds").iterdir()) == []
    res = run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds", "--overwrite")
    assert res.exit_code == 0, res.output


def test_unknown_key_and_source(tml, tmp_path):
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds",
                       "--set", "noize=false"), "`noize`", "noise")
    one_line_error(run("build-dataset", "--source", "trackmI", "--input", tml, "--out", tmp_path / "ds"),
                   "trackml")
    _nothing_written(tmp_path)


def test_zero_events(tml, tmp_path):
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds",
                       "--events", 0), "zero events")
    _nothing_written(tmp_path)


def test_nan_coordinates(tml, tmp_path):
    import gzip

    p = tml / "event000000002-hits.csv.gz"
    text = gzip.open(p, "rt").read().replace("3.0,4.0,5.0", "nan,4.0,5.0")
    with gzip.open(p, "wt") as fh:
        fh.write(text)
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "o" / "ds"),
                   "event_id=2", "`x`", "NaN")
    _nothing_written(tmp_path)


def test_csv_missing_columns(tml, tmp_path):
    import gzip

    with gzip.open(tml / "event000000001-particles.csv.gz", "wt") as fh:
        fh.write("particle_id,vx\n1,0\n")
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds"),
                   "lacks column", "vy")
    _nothing_written(tmp_path)


def _root_mapping(tmp_path, **over):
    import yaml

    data = {"tree": "events", "hits": {"x": "hit_x", "y": "hit_y", "z": "hit_z"}, **over}
    p = tmp_path / f"m{len(list(tmp_path.glob('m*.yaml')))}.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_root_bad_inputs(tiny_root_file, tmp_path):
    m = _root_mapping(tmp_path)
    trunc = tmp_path / "t.root"
    trunc.write_bytes(tiny_root_file.read_bytes()[:1500])
    cases = [
        ([trunc], m, "t.root"),
        ([m], m, "not a readable ROOT file"),
        ([tiny_root_file], _root_mapping(tmp_path, tree="evnts"), "close matches: events"),
        ([tiny_root_file], _root_mapping(tmp_path, hits={"x": "hit_xx", "y": "hit_y", "z": "hit_z"}),
         "close matches: hit_x"),
        ([tiny_root_file], _root_mapping(tmp_path, hitz={}), "unknown key `hitz`"),
        ([tiny_root_file], _root_mapping(tmp_path, selection="evt < 0"), "zero events"),
    ]
    for inputs, mapping, needle in cases:
        res = run("build-dataset", "--source", "root", "--mapping", mapping, *[a for i in inputs for a in ("--input", i)],
                  "--out", tmp_path / "out" / "ds")
        one_line_error(res, needle)
        assert not (tmp_path / "out").exists()


def test_root_build_ok(tiny_root_file, tmp_path):
    m = _root_mapping(tmp_path, event={"label": "label"}, label_names=["a", "b"])
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", tiny_root_file, "--out", tmp_path / "ds")
    assert res.exit_code == 0, res.output
    assert "a: 2" in res.output and "b: 3" in res.output


def test_root_empty_inputs(tiny_root_file, tmp_path):
    import awkward as ak
    import uproot

    from tests.conftest import write_ttree

    m = _root_mapping(tmp_path)
    empty_tree = tmp_path / "zero.root"
    with uproot.recreate(empty_tree) as f:
        f.mktree("events", {"hit_x": "var * float32", "hit_y": "var * float32", "hit_z": "var * float32"})
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", empty_tree, "--out", tmp_path / "ds")
    one_line_error(res, "tree `events` has 0 entries", "zero.root")
    no_hits = tmp_path / "nohits.root"
    empty = ak.unflatten(ak.Array(_f32([])), [0, 0, 0])
    with uproot.recreate(no_hits) as f:
        write_ttree(f, "events", {"hit_x": empty, "hit_y": empty, "hit_z": empty})
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", no_hits, "--out", tmp_path / "ds")
    one_line_error(res, "3 events", "no hits at all")
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", no_hits, "--out", tmp_path / "ds",
              "--drop-empty")
    one_line_error(res, "all 3 events", "dropping empty events left none")
    assert not (tmp_path / "ds").exists()


def test_drop_empty_counts_in_summary(tiny_root_file, tmp_path):
    import hepgraph

    m = _root_mapping(tmp_path)
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", tiny_root_file, "--out", tmp_path / "a")
    assert res.exit_code == 0 and "1 without hits, kept" in res.output, res.output
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", tiny_root_file, "--out", tmp_path / "b",
              "--drop-empty", "--workers", "2", "--set", "entries_per_shard=2")
    assert res.exit_code == 0 and "1 without hits dropped" in res.output, res.output
    a, b = hepgraph.open_dataset(tmp_path / "a"), hepgraph.open_dataset(tmp_path / "b")
    assert len(a) == 5 and a.manifest["counts"]["empty_events"] == 1
    assert len(b) == 4 and b.manifest["counts"]["dropped_empty"] == 1
    assert list(b.event_ids()) == [i for i in a.event_ids() if len(a[int(i)]["x"])]


def _f32(v):
    import numpy as np

    return np.asarray(v, dtype=np.float32)


def test_help_names_every_built_in_source_without_importing_them():
    import subprocess

    import hepgraph.sources  # noqa: F401
    from hepgraph.cli.cmd_build import BUILT_IN_SOURCES
    from hepgraph.registry import SOURCES

    shipped = {n for n in SOURCES.names() if SOURCES.get(n).__module__.startswith("hepgraph.")}
    assert set(BUILT_IN_SOURCES) == shipped
    code = "import sys\nimport hepgraph.cli.main\nprint('hepgraph.sources' in sys.modules, 'torch' in sys.modules)"
    root = str(Path(__file__).resolve().parents[2])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": root})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]
