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


@pytest.fixture(scope="module")
def pmts(tmp_path_factory):
    """A PMT detector without truth: 12 PMTs on 3 strings, several hits per PMT."""
    import numpy as np

    from hepgraph.events import table_from_events, validate_table
    from hepgraph.sources.base import Source, SourceInfo
    from hepgraph.store import build_dataset

    grid = np.array([[x, 0.0, z] for x in (0.0, 300.0, 600.0) for z in (0.0, 50.0, 100.0, 150.0)])

    class PmtSource(Source):
        name = "pmt-test"

        def config(self):
            return {}

        def info(self):
            return SourceInfo(default_task="classification", label_names=["a", "b"])

        def plan(self, max_events=None):
            return [0]

        def read(self, task):
            rng = np.random.default_rng(0)
            evs = []
            for e in range(4):
                which = rng.integers(0, 12, 20)
                evs.append({"event_id": e, "x": grid[which, 0].astype(np.float32),
                            "y": grid[which, 1].astype(np.float32), "z": grid[which, 2].astype(np.float32),
                            "t": rng.uniform(0, 100, 20), "charge": rng.uniform(0.5, 2, 20).astype(np.float32),
                            "label": e % 2})
            yield validate_table(table_from_events(evs))

    return build_dataset(PmtSource(), tmp_path_factory.mktemp("pmt") / "ds")


def test_show_truth_falls_back_to_charge_with_a_note(pmts, tmp_path):
    out = tmp_path / "ev.png"
    res = run("show", pmts, "--out", out, "--dpi", 40)
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "no truth" in notes[0] and "charge" in notes[0]
    assert "color=charge" in res.output and out.stat().st_size > 5000
    # an existing image is kept unless --overwrite
    one_line_error(run("show", pmts, "--out", out), "--overwrite")
    assert run("show", pmts, "--out", out, "--overwrite", "--dpi", 40).exit_code == 0


def test_show_channels_display(pmts, tmp_path):
    out = tmp_path / "ch.png"
    res = run("show", pmts, "--display", "channels", "--out", out, "--dpi", 40)
    assert res.exit_code == 0, res.output
    assert "color=time" in res.output and out.read_bytes()[:4] == b"\x89PNG"
    one_line_error(run("show", pmts, "--display", "pmt", "--out", tmp_path / "x.png"), "hits, channels")


def test_show_predictions_in_matched_colours(lar, tmp_path):
    from hepgraph import open_dataset

    ev = open_dataset(lar)[0]
    pred = tmp_path / "pred.csv"
    pred.write_text("event_id,hit_id,track_id\n" + "\n".join(
        f"{int(ev['event_id'])},{h},{int(t) + 100}" for h, t in enumerate(ev["track_id"])))
    for match in ("hungarian", "majority"):
        res = run("show", lar, "--predictions", pred, "--match", match, "--out", tmp_path / f"{match}.png",
                  "--dpi", 40)
        assert res.exit_code == 0, res.output
    one_line_error(run("show", lar, "--predictions", pred, "--match", "greedy", "--out", tmp_path / "g.png"),
                   "hungarian")
