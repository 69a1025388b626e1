"""Every simulator preset: registered, builds, validates against the schema, deterministic."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import hepgraph.sources  # noqa: F401 - fills SOURCES
from hepgraph.config import configs_dir
from hepgraph.errors import ConfigError
from hepgraph.events import validate_table
from hepgraph.registry import SOURCES

NAMES = ["sim-drift-chamber", "sim-forward-planes", "sim-geiger-grid", "sim-lartpc", "sim-pad-tpc",
         "sim-silicon-barrel"]
SMALL = {"block_size": 7}


def test_every_preset_has_a_source():
    presets = sorted(p.stem for p in (configs_dir() / "detectors").glob("*.yaml"))
    assert [f"sim-{p}" for p in presets] == NAMES
    assert SOURCES.names("sim-*") == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_preset_output_is_schema_valid(name):
    src = SOURCES.get(name)(seed=3, params=SMALL)
    tasks = src.plan(10)
    assert [t.count for t in tasks] == [7, 3]
    for task in tasks:
        for table in src.read(task):
            table = validate_table(table)
            ids = table.column("event_id").to_numpy()
            assert ids.tolist() == list(range(task.start, task.start + task.count))
    info = src.info()
    if "charge" in table.column_names:                  # Geiger cells measure no charge
        assert info.units["charge"] == "MeV"
    ext = info.extra["extent"]
    assert len(ext) == 3 and all(lo < hi for lo, hi in ext)
    assert "field_T" in info.extra and info.default_task


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes_whatever_the_task_order(name):
    """Workers run tasks in any order and in other processes: each block depends only on (seed, index)."""
    def run(order):
        src = SOURCES.get(name)(seed=11, params=SMALL)
        tasks = src.plan(15)
        out = {t.index: pa.concat_tables(list(src.read(t))) for t in (tasks[i] for i in order)}
        return pa.concat_tables([out[i] for i in sorted(out)])

    a, b = run([0, 1, 2]), run([2, 0, 1])
    assert a.equals(b)
    other = SOURCES.get(name)(seed=12, params=SMALL)
    c = pa.concat_tables([t for task in other.plan(15) for t in other.read(task)])
    assert not a.equals(c)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name):
    factory = SOURCES.get(name)
    with pytest.raises(ConfigError, match="no input files"):
        factory(inputs=["x.root"])
    with pytest.raises(ConfigError, match="unknown detector parameter `bogus`"):
        factory(params={"bogus": 1})
    with pytest.raises(ConfigError, match="positive"):
        factory(params={"events": 0})
    with pytest.raises(ConfigError, match="> 0"):
        factory().plan(-5)


def test_block_plan_does_not_depend_on_max_events_split():
    src = SOURCES.get("sim-drift-chamber")(seed=0, params={"block_size": 4})
    a = [t for task in src.plan(8) for t in src.read(task)]
    b = [t for task in src.plan(10) for t in src.read(task)]
    assert pa.concat_tables(a).equals(pa.concat_tables(b).slice(0, 8))
    assert np.array_equal(pa.concat_tables(b).column("event_id").to_numpy(), np.arange(10))
