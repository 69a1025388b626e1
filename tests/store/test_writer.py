from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

import hepgraph  # noqa: E402
from hepgraph.errors import ConfigError, DataError  # noqa: E402
from hepgraph.store.manifest import MANIFEST_NAME, sha256_file  # noqa: E402
from hepgraph.store.writer import build_dataset, clean_stale_tmp  # noqa: E402


def test_round_trip_values_identical(tmp_path):
    src = ToySource(n_events=60, per_task=25)
    out = build_dataset(src, tmp_path / "ds", row_group_events=16)
    ds = hepgraph.open_dataset(out)
    assert len(ds) == 60
    for e in (0, 17, 59):
        want, got = src.event(e), ds[e]
        assert set(got) == set(want)
        for k, v in want.items():
            if isinstance(v, np.ndarray):
                assert got[k].dtype == hepgraph.events.schema.dtype_of(k, v)
                np.testing.assert_array_equal(got[k], v)
            else:
                assert got[k] == pytest.approx(v, rel=1e-6)


def test_manifest_contents(tmp_path):
    out = build_dataset(ToySource(n_events=60, per_task=25), tmp_path / "ds", seed=7)
    m = json.loads((out / MANIFEST_NAME).read_text())
    assert m["counts"]["events"] == 60
    assert m["seed"] == 7 and m["source"]["name"] == "toy" and m["source"]["config"]["n_events"] == 60
    assert [s["path"] for s in m["shards"]] == [f"shard-0000{i}.parquet" for i in range(3)]
    assert [s["events"] for s in m["shards"]] == [25, 25, 10]
    for s in m["shards"]:
        assert s["sha256"] == sha256_file(out / s["path"])
    assert m["columns"]["x"] == {"kind": "hit", "dtype": "float32", "unit": "mm"}
    assert m["columns"]["charge"]["unit"] == "MeV"  # SourceInfo.units override
    assert m["columns"]["particle_id"]["kind"] == "particle"
    assert m["label_names"] == ["a", "b", "c"]
    hits = sum(len(ToySource().event(e)["x"]) for e in range(60))
    assert m["counts"]["hits"] == hits
    assert sum(m["splits"]["counts"].values()) == 60 and m["splits"]["fractions"] == [0.7, 0.15, 0.15]
    assert sum(m["stats"]["label_counts"]["label"].values()) == 60


def test_readable_without_hepgraph(tmp_path):
    import awkward as ak

    out = build_dataset(ToySource(n_events=30, per_task=10), tmp_path / "ds")
    t = pq.read_table(out)
    assert t.num_rows == 30
    arr = ak.from_parquet(out)
    assert len(arr) == 30
    np.testing.assert_array_equal(ak.to_numpy(arr.x[3]), ToySource().event(3)["x"])


def test_row_groups_bounded(tmp_path):
    out = build_dataset(ToySource(n_events=100, per_task=100, mean_hits=50), tmp_path / "ds",
                        row_group_events=8, row_group_hits=200)
    md = pq.read_metadata(next(out.glob("shard-*.parquet")))
    rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    assert sum(rows) == 100 and max(rows) <= 8
    ds = hepgraph.open_dataset(out)
    start = 0
    for r in rows:  # hits per row group <= 200 unless a single event is larger
        h = sum(len(ds[i]["x"]) for i in range(start, start + r))
        assert h <= 200 or r == 1
        start += r


@pytest.mark.slow
def test_workers_give_identical_shards(tmp_path):
    a = build_dataset(ToySource(n_events=40, per_task=10), tmp_path / "a", workers=0)
    b = build_dataset(ToySource(n_events=40, per_task=10), tmp_path / "b", workers=2)
    ma, mb = (json.loads((d / MANIFEST_NAME).read_text()) for d in (a, b))
    assert [s["sha256"] for s in ma["shards"]] == [s["sha256"] for s in mb["shards"]]


def test_progress_and_max_events(tmp_path):
    seen = []
    out = build_dataset(ToySource(n_events=50, per_task=20), tmp_path / "ds", max_events=30,
                        progress=lambda e, h: seen.append((e, h)))
    assert sum(e for e, _ in seen) == 30 == len(hepgraph.open_dataset(out))


def test_existing_target_needs_overwrite(tmp_path):
    out = build_dataset(ToySource(n_events=10, per_task=10), tmp_path / "ds")
    with pytest.raises(ConfigError, match="overwrite"):
        build_dataset(ToySource(n_events=10, per_task=10), out)
    build_dataset(ToySource(n_events=20, per_task=10), out, overwrite=True)
    assert len(hepgraph.open_dataset(out)) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_bad_data_leaves_nothing(tmp_path):
    with pytest.raises(DataError, match="NaN"):
        build_dataset(ToySource(n_events=30, per_task=10, nan_event=23), tmp_path / "sub" / "ds")
    assert list(tmp_path.iterdir()) == []


def test_zero_events(tmp_path):
    with pytest.raises(DataError, match="zero events"):
        build_dataset(ToySource(n_events=0), tmp_path / "ds")
    with pytest.raises(DataError, match="zero events"):
        build_dataset(ToySource(n_events=5), tmp_path / "ds", max_events=0)
    assert list(tmp_path.iterdir()) == []


def test_duplicate_event_ids_across_shards(tmp_path):
    class Dup(ToySource):
        def plan(self, max_events=None):
            return [(0, 5), (3, 8)]

    with pytest.raises(DataError, match="event_id 3"):
        build_dataset(Dup(), tmp_path / "ds")


def test_clean_stale_tmp(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".ds.tmp-{dead.pid}"
    stale.mkdir()
    live = tmp_path / f".ds.tmp-{os.getpid()}"
    live.mkdir()
    assert clean_stale_tmp(tmp_path / "ds") == [stale]
    assert live.exists() and not stale.exists()


KILL_SCRIPT = """
import sys
sys.path.insert(0, {synth!r})
from synth import ToySource
from hepgraph.store.writer import build_dataset
build_dataset(ToySource(n_events=400, per_task=20, sleep=0.05), {out!r})
"""


@pytest.mark.slow
def test_sigkill_midway_leaves_nothing_and_rerun_succeeds(tmp_path):
    out = tmp_path / "ds"
    code = KILL_SCRIPT.format(synth=str(Path(__file__).parent), out=str(out))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(hepgraph.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until at least one shard is on disk
        tmps = list(tmp_path.glob(".ds.tmp-*"))
        if tmps and list(tmps[0].glob("shard-*.parquet")):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("build never started writing")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert list(tmp_path.glob(".ds.tmp-*"))  # the dead build's leftovers
    build_dataset(ToySource(n_events=30, per_task=10), out)
    assert len(hepgraph.open_dataset(out)) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_failed_overwrite_keeps_old_dataset(tmp_path):
    out = build_dataset(ToySource(n_events=10, per_task=10), tmp_path / "ds")
    before = (out / MANIFEST_NAME).read_text()
    with pytest.raises(DataError):
        build_dataset(ToySource(n_events=30, per_task=10, nan_event=25), out, overwrite=True)
    assert (out / MANIFEST_NAME).read_text() == before and len(hepgraph.open_dataset(out)) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_hit_extent_scales_with_the_detector():
    """The box found from the hits is the same for a detector in mm and in metres (1000 times
    smaller), and a flat axis (every hit at z = 0) gets a width relative to the detector, not 1 mm."""
    from hepgraph.store.shards import ShardSummary
    from hepgraph.store.writer import hit_ranges

    pos = np.random.default_rng(0).uniform(-1900, 1900, (5000, 3))
    pos[:, 2] = 0.0
    ext = {}
    for unit in (1.0, 1e-3, 1e-6):
        p = pos * unit
        s = ShardSummary(path="x", bounds=np.stack([p.min(0), p.max(0)], 1), positions=p)
        ext[unit] = np.asarray(hit_ranges([s])["hit_extent"])
    assert np.all(np.diff(ext[1.0], axis=1) > 0) and np.all(np.diff(ext[1e-6], axis=1) > 0)
    np.testing.assert_allclose(ext[1e-3] * 1e3, ext[1.0], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ext[1e-6] * 1e6, ext[1.0], rtol=1e-4, atol=1e-3)
    assert ext[1.0][2, 1] == pytest.approx(3.8, rel=0.01)  # 1/1000 of the 3.8 m span
    point = ShardSummary(path="x", bounds=np.array([[5.0, 5.0]] * 3), positions=np.full((10, 3), 5.0))
    assert hit_ranges([point])["hit_extent"] == [[4.0, 6.0]] * 3  # all hits at one point: 1 mm a side
