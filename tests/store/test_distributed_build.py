from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import ToySource  # noqa: E402

import hepgraph  # noqa: E402
import hepgraph.sources  # noqa: E402, F401  (fills SOURCES)
from hepgraph import errors  # noqa: E402
from hepgraph.errors import (  # noqa: E402
    ConfigError,
    DataError,
    HepgraphError,
    MissingDependencyError,
)
from hepgraph.registry import SOURCES  # noqa: E402
from hepgraph.store import distributed_build as db  # noqa: E402
from hepgraph.store.manifest import MANIFEST_NAME  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402

# --------------------------------------------------------------------------- no cluster


def test_parse_address():
    assert db.parse_address("local") == ("local", 2)
    assert db.parse_address("local:3") == ("local", 3)
    assert db.parse_address("tcp://node1:8786") == ("remote", "tcp://node1:8786")
    assert db.parse_address("node1:8786") == ("remote", "tcp://node1:8786")
    for bad in ("local:0", "local:x", "local:-1", " "):
        with pytest.raises(ConfigError, match="`dask[`=]"):
            db.parse_address(bad)


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_hepgraph_errors_survive_pickling():
    classes = [HepgraphError, *_all_subclasses(HepgraphError)]
    assert {errors.ConfigError, errors.UnknownNameError, errors.DataError,
            errors.MissingDependencyError} <= set(classes)
    for cls in classes:
        try:
            err = cls("column `x` is bad; use `y`")
        except TypeError:  # a subclass with its own constructor: portable_error handles it
            continue
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls and str(back) == str(err)
        assert db.portable_error(err) is err


class OddError(DataError):
    """A source's own error class whose constructor does not take the message."""

    def __init__(self, what, where):
        super().__init__(f"`{what}` bad at {where}")


def test_portable_error_falls_back_to_hepgraph_class():
    err = OddError("x", 3)
    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(err))
    out = db.portable_error(err)
    assert type(out) is DataError and str(out) == "`x` bad at 3"


def test_missing_dask_names_the_extra(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hepgraph.cli.main import app

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install hepgraph\[dask\]"):
        build_dataset(ToySource(n_events=10, per_task=5), tmp_path / "ds", dask="local:2")
    assert list(tmp_path.iterdir()) == []
    res = CliRunner().invoke(app, ["build-dataset", "--source", "sim-lartpc", "--events", "2",
                                   "--out", str(tmp_path / "ds"), "--dask", "local"])
    assert res.exit_code == 2, res.output
    assert "pip install hepgraph[dask]" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_workers_and_dask_conflict(tmp_path):
    with pytest.raises(ConfigError, match="`dask=local:4`"):
        build_dataset(ToySource(n_events=10), tmp_path / "ds", workers=2, dask="local:2")


def test_unreachable_scheduler(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="no Dask scheduler"):
        with db.open_client("tcp://127.0.0.1:9", timeout=1):
            pass


# --------------------------------------------------------------------------- helpers run on workers


class CountingSource(ToySource):
    """ToySource that logs each read of a task to ``log_dir`` and can fail or die in one task."""

    name = "toy"

    def __init__(self, log_dir, *, bad=(), slow=None, crash_once=None, kill_once=None, **kw):
        super().__init__(**kw)
        self.log_dir, self.bad, self.slow = str(log_dir), dict(bad), slow
        self.crash_once, self.kill_once = crash_once, kill_once

    def read(self, task):
        i = task[0] // self.per_task
        Path(self.log_dir, f"read-{i}-{time.time_ns()}").touch()
        if self.slow is not None and i == self.slow:
            time.sleep(1.0)
        if i in self.bad:
            raise DataError(self.bad[i])
        first = _first_time(Path(self.log_dir, f"marker-{i}"))
        if i == self.crash_once and first:
            raise OSError("flaky filesystem")
        chunks = super().read(task)
        yield next(chunks)
        if i == self.kill_once and first:
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies with a shard half written
        yield from chunks

    def reads(self, i):
        return len(list(Path(self.log_dir).glob(f"read-{i}-*")))


def _first_time(marker: Path) -> bool:
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


# --------------------------------------------------------------------------- on a 2-worker cluster


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with db.open_client("local:2", dashboard=False) as c:
        c.run(__import__, "hepgraph.store.distributed_build")  # pay the imports once
        yield c


def manifest(path):
    m = json.loads((Path(path) / MANIFEST_NAME).read_text())
    m.pop("created")
    return m


def assert_same_dataset(a, b):
    ma, mb = manifest(a), manifest(b)
    assert [s["sha256"] for s in ma["shards"]] == [s["sha256"] for s in mb["shards"]]
    assert ma == mb
    da, dbs = hepgraph.open_dataset(a), hepgraph.open_dataset(b)
    assert len(da) == len(dbs)
    for i in (0, len(da) // 2, len(da) - 1):
        for k, v in da[i].items():
            np.testing.assert_array_equal(dbs[i][k], v)


@pytest.mark.slow
def test_sim_build_same_as_local(client, tmp_path):
    def src():
        return SOURCES.get("sim-lartpc")(inputs=None, mapping=None, seed=5,
                                         params={"block_size": 4})

    local = build_dataset(src(), tmp_path / "local", max_events=12, seed=5)
    seen = []
    dist = build_dataset(src(), tmp_path / "dask", max_events=12, seed=5, dask=client,
                         progress=lambda e, h: seen.append((e, h)))
    assert_same_dataset(local, dist)
    m = manifest(dist)
    assert sorted(seen) == sorted((s["events"], s["hits"]) for s in m["shards"])
    assert len(m["shards"]) == 3 and m["counts"]["events"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask", "local"]


def write_root_files(d: Path, n_files: int = 3, n_events: int = 20) -> list[Path]:
    import awkward as ak
    import uproot

    d.mkdir()
    rng = np.random.default_rng(3)
    paths = []
    for f in range(n_files):
        counts = rng.integers(0, 30, n_events)
        n = int(counts.sum())
        p = d / f"run{f}.root"
        with uproot.recreate(p) as fh:
            data = {
                "evt": np.arange(n_events, dtype=np.int64) + 1000 * f,
                "label": rng.integers(0, 2, n_events).astype(np.int32),
                "hit_x": ak.unflatten(rng.normal(0, 10, n).astype(np.float32), counts),
                "hit_y": ak.unflatten(rng.normal(0, 10, n).astype(np.float32), counts),
                "hit_z": ak.unflatten(rng.normal(0, 10, n).astype(np.float32), counts),
                "hit_e": ak.unflatten(rng.exponential(1e-3, n).astype(np.float32), counts),
            }
            types = {k: str(ak.type(v).content) if isinstance(v, ak.Array) else v.dtype
                     for k, v in data.items()}
            fh.mktree("events", types).extend(data)  # a TTree, not uproot's default RNTuple
        paths.append(p)
    return paths


@pytest.mark.slow
def test_root_build_same_as_local(client, tmp_path):
    if "root" not in SOURCES.names():
        pytest.skip("the `root` source is not on this branch yet")
    files = write_root_files(tmp_path / "in")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "tree: events\nevent_id: evt\nhits: {x: hit_x, y: hit_y, z: hit_z, charge: hit_e}\n"
        "event: {label: label}\nscale: {x: 10.0, y: 10.0, z: 10.0, charge: 1000.0}\n"
        "step_size: 7\nentries_per_shard: 8\nlabel_names: [a, b]\n")

    def src():
        return SOURCES.get("root")(inputs=[str(f) for f in files], mapping=mapping, seed=0,
                                   params={})

    local = build_dataset(src(), tmp_path / "local")
    dist = build_dataset(src(), tmp_path / "dask", dask=client)
    assert_same_dataset(local, dist)
    assert manifest(dist)["counts"]["events"] == 60 and len(manifest(dist)["shards"]) > 3


def test_user_error_same_message_nothing_at_target(client, tmp_path):
    with pytest.raises(DataError) as local_err:
        build_dataset(ToySource(n_events=40, per_task=10, nan_event=23), tmp_path / "a")
    with pytest.raises(DataError) as dask_err:
        build_dataset(ToySource(n_events=40, per_task=10, nan_event=23), tmp_path / "b",
                      dask=client)
    assert str(dask_err.value) == str(local_err.value) and "NaN" in str(dask_err.value)
    assert list(tmp_path.iterdir()) == []


def test_first_failing_task_wins_and_is_not_retried(client, tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    bad = {1: "task one: `x` is broken", 3: "task three: `y` is broken"}
    src = CountingSource(logs, bad=bad, slow=1, n_events=50, per_task=10)
    with pytest.raises(DataError, match="task one") as local_err:
        build_dataset(src, tmp_path / "a")
    with pytest.raises(DataError, match="task one") as dask_err:  # task 3 fails first on Dask
        build_dataset(src, tmp_path / "b", dask=client)
    assert str(dask_err.value) == str(local_err.value)
    assert src.reads(1) == 2  # once locally, once on Dask: user errors are not retried
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log"]


def test_unexpected_error_is_retried(client, tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    src = CountingSource(logs, crash_once=2, n_events=40, per_task=10)
    dist = build_dataset(src, tmp_path / "dask", dask=client)
    assert src.reads(2) == 2 and src.reads(0) == 1
    local = build_dataset(ToySource(n_events=40, per_task=10), tmp_path / "local")
    assert_same_dataset(local, dist)


def test_scheduler_address_string(client, tmp_path):
    """``dask="tcp://host:port"`` connects to a running scheduler (here the fixture's)."""
    addr = client.scheduler.address
    assert addr.startswith("tcp://")
    dist = build_dataset(ToySource(n_events=30, per_task=10), tmp_path / "dask", dask=addr)
    local = build_dataset(ToySource(n_events=30, per_task=10), tmp_path / "local")
    assert_same_dataset(local, dist)


def test_cli_dask_option(client, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hepgraph.cli.main import app

    monkeypatch.setattr(db, "open_client", lambda spec, **kw: contextlib.nullcontext(client))
    args = ["build-dataset", "--source", "sim-lartpc", "--events", "6", "--set", "block_size=3",
            "--seed", "2"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "dask"), "--dask", "local:2"])
    assert res.exit_code == 0, res.output
    assert "Dask: 2 workers" in res.output
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "local")])
    assert res.exit_code == 0, res.output
    assert_same_dataset(tmp_path / "local", tmp_path / "dask")


@pytest.mark.slow
def test_worker_killed_mid_build_still_complete(client, tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    kw = dict(n_events=60, per_task=10, chunk=5)
    src = CountingSource(logs, kill_once=2, **kw)
    dist = build_dataset(src, tmp_path / "dask", dask=client)
    assert (logs / "marker-2").exists() and src.reads(2) == 2  # it died once, then re-ran
    assert_same_dataset(build_dataset(ToySource(**kw), tmp_path / "local"), dist)
    assert not list(dist.glob("*.part-*"))
    deadline = time.time() + 30  # the nanny restarts the dead worker
    while len(client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
        time.sleep(0.2)
