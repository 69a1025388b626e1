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


@pytest.mark.parametrize("over, needle", [
    ({"scale": 5}, "`scale` must be a mapping, got int `5`"),
    ({"scale": {"x": "ten"}}, "scale.x `ten` must be a number"),
    ({"step_size": "abc"}, "`step_size` must be a whole number, got str `abc`"),
    ({"dtypes": ["float64"]}, "`dtypes` must be a mapping"),
    ({"event": ["label"]}, "`event` must be a mapping"),
    ({"units": "MeV"}, "`units` must be a mapping"),
    ({"extra": 5}, "`extra` must be a mapping"),
    ({"friends": "other"}, "`friends` must be a list"),
    ({"file_id_offset": "maybe"}, "`file_id_offset` must be true or false"),
    ({"tree": ["events"]}, "`tree` must be a name"),
    ({"hits": {"x": "hit_x", "y": "hit_y", "z": [1, 2]}}, "hits.z `[1, 2]` must be an expression"),
    ({"hits": {"x": "hit_x", "y": "hit_y", "z": None}}, "hits.z `None` must be an expression"),
])
def test_root_mapping_values_of_the_wrong_type(tiny_root_file, tmp_path, over, needle):
    m = _root_mapping(tmp_path, **over)
    res = run("build-dataset", "--source", "root", "--mapping", m, "--input", tiny_root_file,
              "--out", tmp_path / "out" / "ds")
    one_line_error(res, needle)
    assert not (tmp_path / "out").exists()


def test_root_jagged_branches_of_different_lengths_name_the_entry(tmp_path):
    import awkward as ak
    import uproot

    from tests.conftest import write_ttree

    path = tmp_path / "f.root"
    with uproot.recreate(path) as f:
        def jag(*lists):
            return ak.unflatten(_f32([v for lst in lists for v in lst]), [len(lst) for lst in lists])

        write_ttree(f, "events", {"hit_x": jag([1, 2], [3], [4]), "hit_y": jag([1, 2], [3], [4, 5]),
                                  "hit_z": jag([1, 2], [3], [4])})
    res = run("build-dataset", "--source", "root", "--mapping", _root_mapping(tmp_path), "--input", path,
              "--out", tmp_path / "out" / "ds")
    one_line_error(res, "`y` (`hit_y`) has 2 values at entry 2", "`x` (`hit_x`) has 1", "one collection")
    assert not (tmp_path / "out").exists()


def test_root_rntuple_is_named_with_the_fix(tmp_path):
    import awkward as ak
    import uproot

    path = tmp_path / "rn.root"
    with uproot.recreate(path) as f:
        f["events"] = ak.Array({"hit_x": [[1.0]], "hit_y": [[1.0]], "hit_z": [[1.0]]})  # uproot's default: RNTuple
    res = run("build-dataset", "--source", "root", "--mapping", _root_mapping(tmp_path), "--input", path,
              "--out", tmp_path / "out" / "ds")
    one_line_error(res, "`events` in", "is an RNTuple, not a TTree", "write the data as a TTree")
    assert not (tmp_path / "out").exists()


def _csv_build(tmp_path, text, mapping):
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "ev1.csv").write_text(text)
    (tmp_path / "m.yaml").write_text(mapping)
    return run("build-dataset", "--source", "csv", "--mapping", tmp_path / "m.yaml", "--input", tmp_path / "in",
               "--out", tmp_path / "out" / "ds")


@pytest.mark.parametrize("text, mapping, needles", [
    ("X;Y;Z\n1;2;3\n", "hits: {x: X, y: Y, z: Z}\n", ["lacks column(s) X, Y, Z", 'set `delimiter: ";"`']),
    ("X\tY\tZ\n1\t2\t3\n", "hits: {x: X, y: Y, z: Z}\n", ['set `delimiter: "\\t"`']),
    ("X,Y,X\n1,2,3\n", "hits: {x: X, y: Y, z: 0.0}\n", ["column name(s) X more than once", "its own name"]),
    ("X,Y,Z\n1,2,3\n", 'delimiter: ";;"\nhits: {x: X, y: Y, z: Z}\n', ["delimiter `;;` must be one character"]),
    ("X,Y,Z\n1,2,3\n", "hits: {x: X, y: Y, z: Z}\nscale: {x: ten}\n", ["scale.x `ten` must be a number"]),
    ("X,Y,Z\n1,2,3\n", "hits: {x: X, y: Y, z: Z}\nevents_per_shard: many\n", ["`events_per_shard` must be a whole"]),
    ("X,Y,Z\n1e40,2,3\n", "hits: {x: X, y: Y, z: Z}\n", ["`x` holds 1e+40, beyond the float32 range"]),
])
def test_csv_hostile_files_and_mappings(tmp_path, text, mapping, needles):
    one_line_error(_csv_build(tmp_path, text, mapping), *needles)
    assert not (tmp_path / "out").exists()


def test_csv_tab_separated_file_builds_with_the_suggested_delimiter(tmp_path):
    res = _csv_build(tmp_path, "X\tY\tZ\n1\t2\t3\n", 'delimiter: "\\t"\nhits: {x: X, y: Y, z: Z}\n')
    assert res.exit_code == 0, res.output


def test_binary_file_under_a_csv_name(tml, tmp_path):
    (tml / "event000000001-hits.csv.gz").unlink()
    (tml / "event000000001-hits.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds"),
                   "event000000001-hits.csv` is not a text CSV file", "byte 0")
    _nothing_written(tmp_path)
    res = _csv_build(tmp_path, "", "hits: {x: X, y: Y, z: Z}\n")
    (tmp_path / "in" / "ev1.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    res = run("build-dataset", "--source", "csv", "--mapping", tmp_path / "m.yaml", "--input", tmp_path / "in",
              "--out", tmp_path / "out" / "ds")
    one_line_error(res, "ev1.csv` is not a text CSV file")
    assert not (tmp_path / "out").exists()


def test_trackml_particles_without_truth_says_what_is_needed(tml, tmp_path):
    """Hits-only events build (tests/sources/test_trackml.py); half of the truth is refused."""
    for f in tml.glob("event000000001-truth*"):
        f.unlink()
    one_line_error(run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds"),
                   "no truth file", "but has the particles file", "either both (truth) or neither (hits only)")
    _nothing_written(tmp_path)


def test_output_that_is_a_file_is_refused_without_the_overwrite_hint(tml, tmp_path):
    (tmp_path / "ds").write_text("mine")
    for extra in ([], ["--overwrite"]):
        res = run("build-dataset", "--source", "trackml", "--input", tml, "--out", tmp_path / "ds", *extra)
        one_line_error(res, "`" + str(tmp_path / "ds") + "` is a file, not a dataset directory")
        assert "--overwrite" not in res.output
    assert (tmp_path / "ds").read_text() == "mine"


def test_input_that_is_a_device(tmp_path):
    one_line_error(run("build-dataset", "--source", "trackml", "--input", "/dev/null", "--out", tmp_path / "ds"),
                   "`/dev/null` is not a regular file or directory")
    assert list(tmp_path.iterdir()) == []
