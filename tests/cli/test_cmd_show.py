"""``hepgraph show`` and the simulator CLI paths end to end (build-dataset -> show)."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1 and text.startswith("error:"), text
    for n in needles:
        assert n in text, text


@pytest.fixture(scope="module")
def lar(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "lar"
    res = run("build-dataset", "--source", "sim-lartpc", "--events", 6, "--out", out,
              "--set", "block_size=3")
    assert res.exit_code == 0, res.output
    return out


def test_show_writes_png(lar, tmp_path):
    out = tmp_path / "ev.png"
    res = run("show", lar, "--event", 1, "--out", out, "--color", "semantic", "--dpi", 40)
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 5000


def test_show_bad_input(lar, tmp_path):
    one_line_error(run("show", lar, "--event", 99, "--out", tmp_path / "a.png"), "out of range")
    one_line_error(run("show", lar, "--color", "rainbow", "--out", tmp_path / "a.png"), "rainbow")
    one_line_error(run("show", lar, "--predictions", tmp_path / "nope.csv", "--out", tmp_path / "a.png"),
                   "does not exist")
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("args, needle", [
    (["--source", "sim-lartpx"], "sim-lartpc"),
    (["--source", "sim-drift-chamber", "--set", "layres=4"], "layers"),
    (["--source", "sim-drift-chamber", "--set", "tracks.mean=0"], "positive"),
    (["--source", "sim-pad-tpc", "--set", "momentum=[2.0,1.0]"], "min > max"),
    (["--source", "sim-drift-chamber", "--set", "r_min=900"], "no sensitive volume"),
    (["--source", "sim-lartpc", "--set", "shape=[0,10,10]"], "no sensitive"),
])
def test_build_bad_simulator_input(tmp_path, args, needle):
    one_line_error(run("build-dataset", *args, "--events", 5, "--out", tmp_path / "x"), needle)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_workers_give_byte_identical_shards(tmp_path):
    digests = []
    for w in (1, 2):
        out = tmp_path / f"w{w}"
        res = run("build-dataset", "--source", "sim-drift-chamber", "--events", 40, "--out", out,
                  "--workers", w, "--seed", 5, "--set", "block_size=10")
        assert res.exit_code == 0, res.output
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.parquet"))])
    assert len(digests[0]) == 4 and digests[0] == digests[1]
