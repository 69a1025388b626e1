from __future__ import annotations

import gzip

import numpy as np
import pytest
import yaml

import hepgraph
import hepgraph.sources  # noqa: F401
from hepgraph.config import configs_dir
from hepgraph.errors import ConfigError, DataError
from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES
from hepgraph.store.writer import build_dataset

DC = configs_dir() / "sources" / "drift-chamber-csv.yaml"


def write_dc(d, num, rows, gz=False):
    d.mkdir(parents=True, exist_ok=True)
    text = "ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK\n" + "".join(", ".join(map(str, r)) + "\n" for r in rows)
    name = d / f"event_{num}.csv"
    if gz:
        with gzip.open(f"{name}.gz", "wt") as fh:
            fh.write(text)
    else:
        name.write_text(text)


ROWS = [(0, 1, 10, 0, 12.5, -3.0, 0.4, 0.41, 2), (1, 2, 11, 1, 13.5, -2.0, 0.2, 0.19, 2),
        (2, 2, 40, 0, -5.0, 7.5, 0.1, 0.12, -1), (3, 3, 12, 0, 14.5, -1.0, 0.3, 0.33, 5)]


def make(inputs, mapping=DC, **params):
    return SOURCES.get("csv")(inputs=[str(i) for i in inputs], mapping=mapping, seed=0, params=params)


def events_of(src):
    return [e for t in src.plan() for c in src.read(t) for e in table_to_events(validate_table(c))]


def test_drift_chamber_mapping(tmp_path):
    write_dc(tmp_path / "in", 7, ROWS)
    write_dc(tmp_path / "in", 3, ROWS[:2], gz=True)
    evs = events_of(make([tmp_path / "in"]))
    by_id = {e["event_id"]: e for e in evs}
    assert sorted(by_id) == [3, 7]
    ev = by_id[7]
    np.testing.assert_array_equal(ev["hit_id"], [0, 1, 2, 3])
    np.testing.assert_array_equal(ev["layer"], [1, 2, 2, 3])
    np.testing.assert_array_equal(ev["wire"], [10, 11, 40, 12])
    np.testing.assert_allclose(ev["x"], [12.5, 13.5, -5.0, 14.5])
    np.testing.assert_allclose(ev["drift_radius"], [0.4, 0.2, 0.1, 0.3])
    np.testing.assert_array_equal(ev["track_id"], [2, 2, -1, 5])
    assert (ev["z"] == 0).all() and ev["n_tracks"] == 2 and by_id[3]["n_tracks"] == 1


def test_custom_mapping_label_from_dir(tmp_path):
    write_dc(tmp_path / "signal", 1, ROWS)
    write_dc(tmp_path / "background", 2, ROWS[:3])
    m = tmp_path / "m.yaml"
    m.write_text(yaml.safe_dump({
        "hits": {"x": "X", "y": "Y", "z": 0.0, "charge": "RC"}, "noise_track": -1,
        "event": {"label": {"from": "dirname", "map": {"background": 0, "signal": 1}}},
        "scale": {"x": 10.0}, "label_names": ["background", "signal"], "events_per_shard": 1,
    }))
    out = build_dataset(make([tmp_path / "signal", tmp_path / "background"], m), tmp_path / "ds")
    ds = hepgraph.open_dataset(out)
    assert len(ds.manifest["shards"]) == 2
    got = {int(ds[i]["event_id"]): (int(ds[i]["label"]), ds[i]["x"][0]) for i in range(2)}
    assert got == {1: (1, pytest.approx(125.0)), 2: (0, pytest.approx(125.0))}


def test_missing_columns_and_keys(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e1.csv").write_text("ID, Layer, X, Y\n1, 2, 3.0, 4.0\n")
    src = make([tmp_path / "in"])
    with pytest.raises(DataError, match=r"lacks column\(s\) Wire, Stereo, RT, RC, TRK"):
        events_of(src)
    with pytest.raises(ConfigError, match="unknown key `hitz`"):
        make([tmp_path / "in"], hitz={})
    with pytest.raises(ConfigError, match="needs `mapping=YAML`"):
        make([tmp_path / "in"], mapping=None)
    with pytest.raises(DataError, match="does not exist"):
        make([tmp_path / "nope"])


def test_text_in_a_number_column_names_file_column_and_fix(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "e1.csv").write_text("X,Y,Z,TRK\n1.0,2.0,3.0,1\n2.0,oops,4.0,1\n")
    (d / "e2.csv").write_text("X,Y,Z,TRK\n1.0,2.0,3.0,1\n")
    (d / "e3.csv").write_text("X,Y,Z,TRK\n1.0,2.0,3.0,1\n1.5,2.5,3.5,7\nX,Y,Z,TRK\n")   # a header repeated
    m = tmp_path / "m.yaml"
    m.write_text(yaml.safe_dump({"hits": {"x": "X", "y": "Y", "z": "Z", "track_id": "TRK"},
                                 "event": {"n_tracks": {"column": "TRK", "reduce": "nunique"}}}))
    src = make([d], mapping=m)
    with pytest.raises(DataError) as err:
        build_dataset(src, tmp_path / "ds")
    msg = str(err.value)
    assert msg.startswith(f"CSV `{d / 'e1.csv'}`: column `Y` (mapped to `hits.y`) holds text where a number is "
                          "needed (`oops`, data row 2); clean the column")
    assert "`hits.y=COLUMN`" in msg and str(m) in msg
    with pytest.raises(DataError, match=r"e3\.csv`: column `TRK` \(mapped to `hits\.track_id`\) .*\(`TRK`, data row 3\)"):
        src.read_event(2)
    # the same file with numbers only, and a column of text left unmapped, still builds
    (d / "e1.csv").write_text("X,Y,Z,TRK,NOTE\n1.0,2.0,3.0,1,a\n2.0,5.0,4.0,1,b\n")
    (d / "e3.csv").unlink()
    ds = hepgraph.open_dataset(build_dataset(make([d], mapping=m), tmp_path / "ds2"))
    np.testing.assert_allclose(ds[0]["y"], [2.0, 5.0])
