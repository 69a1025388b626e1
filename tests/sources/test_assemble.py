"""The assembler on real ROOT structures: nested hit lists (Mu2e TrkAna style), split objects
with full branch paths and absolute times (KM3NeT style), selections and channel geometry.

``data/nested.root`` holds what uproot cannot write (``vector<vector<struct>>``, split
objects); it was written by ROOT with ``data/make_nested_root.py``. uproot reads it back here
as the truth every value is compared with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import hepgraph.sources  # noqa: F401
from hepgraph.errors import DataError
from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES

from tests.conftest import write_ttree

NESTED = Path(__file__).parent / "data" / "nested.root"
TRKANA = {"tree": "trkana", "event_id": "evt",
          "hits": {"x": "trkhits.x", "y": "trkhits.y", "z": "trkhits.z", "t": "trkhits.t",
                   "charge": "edep * 1000", "hit_straw": "trkhits.straw", "hit_trkid": "trkid"}}
KM3NET = {"tree": "E", "event_id": "Evt/id",
          "hits": {"x": 0.0, "y": 0.0, "z": 0.0, "t": "Evt/hits/hits.t", "hit_dt": "Evt/hits/hits.t - Evt/t0",
                   "hit_trig": "hits.trig", "hit_pmt": "Evt/hits/hits.dom_id * 100 + Evt/hits/hits.channel_id"}}


def events(tmp_path, data, path=NESTED, max_events=None):
    m = tmp_path / "map.yaml"
    m.write_text(yaml.safe_dump(data))
    src = SOURCES.get("root")(inputs=[str(path)], mapping=m, seed=0, params={})
    return [e for t in src.plan(max_events) for c in src.read(t) for e in table_to_events(validate_table(c))]


def truth(tree):
    import uproot

    return uproot.open(NESTED)[tree].arrays(library="ak")


def test_nested_hits_flattened_with_group_index(tmp_path):
    evs = events(tmp_path, TRKANA)
    t = truth("trkana")
    assert [e["event_id"] for e in evs] == t.evt.tolist()
    for i, ev in enumerate(evs):
        hits = t.trkhits[i]
        groups = [k for k, trk in enumerate(hits) for _ in trk]
        np.testing.assert_array_equal(ev["hit_group"], groups)
        np.testing.assert_array_equal(ev["x"], np.float32([h.x for trk in hits for h in trk]))
        np.testing.assert_array_equal(ev["t"], [h.t for trk in hits for h in trk])  # float64, exact
        np.testing.assert_array_equal(ev["hit_straw"], [h.straw for trk in hits for h in trk])
        np.testing.assert_allclose(ev["charge"], [v * 1000 for trk in t.edep[i] for v in trk], rtol=1e-6)
        # one value per track (trkid) is broadcast to the track's hits
        np.testing.assert_array_equal(ev["hit_trkid"], [t.trkid[i][k] for k in groups])
    assert any(len(trk) == 0 for trk in t.trkhits[3])  # an empty inner list is handled
    assert len(evs[1]["x"]) == 0


def test_nested_index_as_track_id(tmp_path):
    evs = events(tmp_path, {**TRKANA, "nested_index": "track_id"})
    assert "hit_group" not in evs[0]
    np.testing.assert_array_equal(evs[0]["track_id"], [0] * 5 + [1])


def test_split_object_full_paths_and_time_precision(tmp_path):
    import uproot

    evs = events(tmp_path, KM3NET)
    tree = uproot.open(NESTED)["E"]
    assert [ev["event_id"] for ev in evs] == tree["Evt/id"].array().tolist()
    t_file = tree["Evt/hits/hits.t"].array()
    t0 = tree["Evt/t0"].array()
    for i, ev in enumerate(evs):
        assert ev["t"].dtype == np.float64
        assert np.max(np.abs(ev["t"] - np.asarray(t_file[i])), initial=0) < 0.01  # ns, at ~1e8 ns
        np.testing.assert_allclose(ev["hit_dt"], np.asarray(t_file[i]) - t0[i], atol=1e-3)
    first = np.asarray(t_file[0])[0]
    assert first > 1e8 and abs(float(np.float32(first)) - first) > 0.01  # float32 would not do


def test_dtypes_keep_float64_for_an_extra_column(tmp_path):
    import uproot

    path = tmp_path / "abs.root"
    tabs = np.array([1.0e8 + 0.01, 1.0e8 + 3.27, 2.0e8 + 0.5])
    with uproot.recreate(path) as f:
        write_ttree(f, "hits", {"ev": np.array([0, 0, 1]), "tabs": tabs, "x": np.ones(3)})
    base = {"tree": "hits", "layout": "flat", "group_by": "ev",
            "hits": {"x": "x", "y": 0.0, "z": 0.0, "hit_tabs": "tabs", "t": "tabs"}}
    lossy = events(tmp_path, base, path)
    assert lossy[0]["hit_tabs"].dtype == np.float32
    exact = events(tmp_path, {**base, "dtypes": {"hit_tabs": "float64"}}, path)
    np.testing.assert_array_equal(np.concatenate([e["hit_tabs"] for e in exact]), tabs)
    np.testing.assert_array_equal(np.concatenate([e["t"] for e in exact]), tabs)


def test_select_hits_and_events(tmp_path):
    import uproot

    evs = events(tmp_path, {**KM3NET, "select": {"hits": "hit_trig > 0", "events": "n_hits >= 2"}})
    tree = uproot.open(NESTED)["E"]
    trig = tree["Evt/hits/hits.trig"].array()
    t = tree["Evt/hits/hits.t"].array()
    want = [i for i in range(len(trig)) if int(np.sum(np.asarray(trig[i]) > 0)) >= 2]
    assert [ev["event_id"] for ev in evs] == want
    for ev in evs:
        i = ev["event_id"]
        np.testing.assert_array_equal(ev["t"], np.asarray(t[i])[np.asarray(trig[i]) > 0])
    # an event cut on a column computed by the mapping and on a branch
    evs = events(tmp_path, {**KM3NET, "select": {"events": "Evt/t0 > 1.00001e8 and n_hits > 0"}})
    assert [ev["event_id"] for ev in evs] == [i for i in (1, 2, 3) if len(t[i]) > 0]


def write_pmts(tmp_path, ids, kind="csv"):
    x, y, z = ids * 1.5, ids * -2.0, ids * 0.25
    if kind == "csv":
        lines = ["dom,ch,px,py,pz,dz"] + [f"{i // 100},{i % 100},{a},{b},{c},1.0" for i, a, b, c in zip(ids, x, y, z)]
        (tmp_path / "pmts.csv").write_text("\n".join(lines) + "\n")
        return "pmts.csv"
    import uproot

    with uproot.recreate(tmp_path / "pmts.root") as f:
        write_ttree(f, "pmts", {"dom": ids // 100, "ch": ids % 100, "px": x, "py": y, "pz": z,
                                "dz": np.ones(len(ids))})
    return "pmts.root"


@pytest.mark.parametrize("kind", ["csv", "root"])
def test_channel_geometry_joined_on_hits(tmp_path, kind):
    ids = np.array([d * 100 + c for d in range(1, 4) for c in range(31)])
    name = write_pmts(tmp_path, ids, kind)
    geo = {"file": name, "id": "dom * 100 + ch", "hit_column": "hit_pmt",
           "columns": {"x": "px", "y": "py", "z": "pz", "dir_z": "dz"}}
    if kind == "root":
        geo["tree"] = "pmts"
    data = {**KM3NET, "hits": {k: v for k, v in KM3NET["hits"].items() if k not in "xyz"}, "geometry": geo,
            "scale": {"x": 10.0}}
    evs = events(tmp_path, data)
    import uproot

    tree = uproot.open(NESTED)["E"]
    pmt = tree["Evt/hits/hits.dom_id"].array() * 100 + tree["Evt/hits/hits.channel_id"].array()
    for ev in evs:
        p = np.asarray(pmt[ev["event_id"]])
        np.testing.assert_array_equal(ev["hit_pmt"], p)
        np.testing.assert_allclose(ev["x"], p * 1.5 * 10.0)
        np.testing.assert_allclose(ev["y"], p * -2.0)
        np.testing.assert_allclose(ev["dir_z"], 1.0)


def test_geometry_unknown_ids(tmp_path):
    write_pmts(tmp_path, np.array([100, 101, 102]))
    geo = {"file": "pmts.csv", "id": "dom * 100 + ch", "hit_column": "hit_pmt", "columns": {"x": "px", "y": "py", "z": "pz"}}
    data = {**KM3NET, "hits": {k: v for k, v in KM3NET["hits"].items() if k not in "xyz"}, "geometry": geo}
    with pytest.raises(DataError, match=r"channel id\(s\) of hit column `hit_pmt` are not in geometry table .*pmts.csv"):
        events(tmp_path, data)
    kept = events(tmp_path, {**data, "geometry": {**geo, "missing": "drop"}})
    assert all(set(ev["hit_pmt"]) <= {100, 101, 102} for ev in kept)


def test_nested_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    import hepgraph
    from hepgraph.cli.main import app

    m = tmp_path / "trkana.yaml"
    m.write_text(yaml.safe_dump({**TRKANA, "nested_index": "track_id", "hits": {
        k: v for k, v in TRKANA["hits"].items() if k != "hit_trkid"}}))
    res = CliRunner().invoke(app, ["build-dataset", "--source", "root", "--mapping", str(m), "--input", str(NESTED),
                                   "--out", str(tmp_path / "ds"), "--drop-empty"])
    assert res.exit_code == 0, res.output
    assert "1 without hits dropped" in res.output
    ds = hepgraph.open_dataset(tmp_path / "ds")
    t = truth("trkana")
    assert list(ds.event_ids()) == [e for e, h in zip(t.evt.tolist(), t.trkhits) if sum(len(x) for x in h)]
    assert ds.manifest["columns"]["t"]["dtype"] == "float64"


def test_select_shapes(tmp_path):
    # select.hits on per-event values only applies to every hit of the event
    evs = events(tmp_path, {**KM3NET, "select": {"hits": "Evt/t0 > 1.00002e8"}})
    assert [len(e["t"]) > 0 for e in evs] == [False, False, True, True]
    with pytest.raises(DataError, match=r"gives a list per event; reduce it"):
        events(tmp_path, {**KM3NET, "select": {"events": "hits.trig > 0"}})
    evs = events(tmp_path, {**KM3NET, "select": {"events": "any(hits.trig > 0)"}})
    assert all(e["hit_trig"].any() for e in evs)
