from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import hepgraph
import hepgraph.sources  # noqa: F401
from hepgraph.errors import ConfigError, DataError
from hepgraph.registry import SOURCES
from hepgraph.store.writer import build_dataset

HITS = "hit_id,x,y,z,volume_id,layer_id,module_id\n3,1.5,2.5,-10.0,7,2,11\n1,0.5,-1.0,20.0,8,4,12\n2,3.0,4.0,5.0,8,6,13\n4,9.0,9.0,9.0,9,2,14\n"
TRUTH = "hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight\n1,4503599627370496,0,0,0,1,1,1,0.25\n2,0,0,0,0,0,0,0,0.0\n3,4503599627370496,0,0,0,1,1,1,0.5\n4,777,0,0,0,1,1,1,0.125\n"
PARTS = "particle_id,particle_type,vx,vy,vz,px,py,pz,q,nhits\n4503599627370496,13,0.1,0.2,0.3,1.5,-2.0,3.25,-1,9\n777,211,0,0,0,0.5,0.5,0.5,1,1\n555,22,0,0,0,0.1,0.1,0.1,0,0\n"
CELLS = "hit_id,ch0,ch1,value\n1,1,1,0.25\n1,1,2,0.5\n3,5,5,1.0\n"


def write_event(d: Path, num: int, gz: bool, cells: bool = True) -> None:
    d.mkdir(parents=True, exist_ok=True)
    files = {"hits": HITS, "truth": TRUTH, "particles": PARTS, **({"cells": CELLS} if cells else {})}
    for kind, text in files.items():
        name = f"event{num:09d}-{kind}.csv"
        if gz:
            with gzip.open(d / f"{name}.gz", "wt") as fh:
                fh.write(text)
        else:
            (d / name).write_text(text)


def make(inputs, **params):
    return SOURCES.get("trackml")(inputs=inputs, mapping=None, seed=0, params=params)


@pytest.mark.parametrize("gz", [False, True])
def test_event_columns(tmp_path, gz):
    write_event(tmp_path / "ev", 1000, gz)
    src = make([tmp_path / "ev"])
    (chunk,) = list(src.read(src.plan()[0]))
    ev = hepgraph.events.table_to_events(hepgraph.events.validate_table(chunk))[0]
    assert ev["event_id"] == 1000
    np.testing.assert_array_equal(ev["hit_id"], [3, 1, 2, 4])  # file order kept
    np.testing.assert_array_equal(ev["track_id"], [4503599627370496, 4503599627370496, -1, 777])
    np.testing.assert_allclose(ev["x"], [1.5, 0.5, 3.0, 9.0])
    np.testing.assert_array_equal(ev["layer"], [2, 4, 6, 2])
    np.testing.assert_array_equal(ev["pdg"], [13, 13, 0, 211])
    np.testing.assert_allclose(ev["charge"], [1.0, 0.75, 0.0, 0.0])
    np.testing.assert_array_equal(ev["hit_ncells"], [1, 2, 0, 0])
    np.testing.assert_array_equal(ev["particle_id"], [4503599627370496, 777, 555])
    np.testing.assert_allclose(ev["particle_weight"], [0.75, 0.125, 0.0])
    np.testing.assert_array_equal(ev["particle_nhits"], [2, 1, 0])
    np.testing.assert_allclose(ev["particle_pz"], [3.25, 0.5, 0.1])
    np.testing.assert_array_equal(ev["particle_q"], [-1, 1, 0])
    assert ev["n_tracks"] == 2


def test_options_and_many_events(tmp_path):
    for n in (1, 2, 3):
        write_event(tmp_path / "d", n, gz=n % 2 == 0, cells=False)
    src = make([str(tmp_path / "d" / "event*-hits.csv*")], events_per_shard=2, noise=False)
    assert len(src.plan()) == 2 and len(src.plan(max_events=1)) == 1
    out = build_dataset(make([tmp_path / "d"], events_per_shard=2, noise=False), tmp_path / "ds")
    ds = hepgraph.open_dataset(out)
    assert len(ds) == 3 and (ds[0]["track_id"] != -1).all() and "charge" not in ds[0]
    assert ds.manifest["extra"]["field_T"] == 2.0


def test_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        make([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="needs input"):
        make(None)
    with pytest.raises(ConfigError, match="events_per_shar"):
        make([tmp_path], events_per_shar=3)
    write_event(tmp_path / "e", 1, gz=False)
    (tmp_path / "e" / "event000000001-truth.csv").unlink()
    with pytest.raises(DataError, match="no truth file"):
        make([tmp_path / "e"])
    write_event(tmp_path / "f", 1, gz=False)
    (tmp_path / "f" / "event000000001-hits.csv").write_text("hit_id,x,y\n1,2,3\n")
    src = make([tmp_path / "f"])
    with pytest.raises(DataError, match="lacks column"):
        list(src.read(src.plan()[0]))
