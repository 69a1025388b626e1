from __future__ import annotations

import numpy as np
import pytest
import yaml

import hepgraph
import hepgraph.sources  # noqa: F401
from hepgraph.errors import ConfigError, DataError
from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES
from hepgraph.store.writer import build_dataset

from tests.conftest import write_ttree  # noqa: E402

JAGGED = {
    "tree": "events",
    "event_id": "evt",
    "hits": {"x": "hit_x", "y": "hit_y", "z": "hit_z", "charge": "hit_e", "track_id": "hit_trk"},
    "particles": {"particle_id": "part_id", "particle_px": "part_px"},
    "event": {"label": "label", "n_tracks": {"expr": "part_id", "reduce": "count"}},
    "scale": {"x": 10.0, "y": 10.0, "z": 10.0, "charge": 1000.0},
    "label_names": ["even", "odd"],
    "units": {"charge": "MeV"},
    "step_size": 2,
    "entries_per_shard": 3,
}


def mapping_file(tmp_path, data, name="map.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def make(inputs, mapping, **params):
    return SOURCES.get("root")(inputs=[str(i) for i in inputs], mapping=mapping, seed=0, params=params)


def events_of(src):
    out = []
    for task in src.plan():
        for chunk in src.read(task):
            out += table_to_events(validate_table(chunk))
    return out


def truth(path):
    import uproot

    return uproot.open(path)["events"].arrays(library="ak")


def test_jagged_values_and_scale(tiny_root_file, tmp_path):
    src = make([tiny_root_file], mapping_file(tmp_path, JAGGED))
    assert len(src.plan()) == 2  # 5 entries, 3 per shard
    evs = events_of(src)
    t = truth(tiny_root_file)
    assert [e["event_id"] for e in evs] == [100, 101, 102, 103, 104]
    for i, ev in enumerate(evs):
        np.testing.assert_allclose(ev["x"], np.asarray(t.hit_x[i]) * 10.0, rtol=1e-6)
        np.testing.assert_allclose(ev["charge"], np.asarray(t.hit_e[i]) * 1000.0, rtol=1e-6)
        np.testing.assert_array_equal(ev["track_id"], np.asarray(t.hit_trk[i]))
        np.testing.assert_array_equal(ev["particle_id"], np.asarray(t.part_id[i]))
        assert ev["label"] == t.label[i] and ev["n_tracks"] == len(t.part_id[i])
    assert len(evs[1]["x"]) == 0  # empty event kept


def test_selection_max_events_and_build(tiny_root_file, tmp_path):
    data = {**JAGGED, "selection": "label == 1"}
    evs = events_of(make([tiny_root_file], mapping_file(tmp_path, data)))
    assert [e["event_id"] for e in evs] == [101, 103, 104]
    src = make([tiny_root_file], mapping_file(tmp_path, JAGGED))
    assert sum(t["stop"] - t["start"] for t in src.plan(max_events=4)) == 4
    out = build_dataset(src, tmp_path / "ds", max_events=4)
    ds = hepgraph.open_dataset(out)
    assert len(ds) == 4 and ds.manifest["columns"]["charge"]["unit"] == "MeV"
    assert ds.manifest["label_names"] == ["even", "odd"]
    assert ds.manifest["source"]["config"]["mapping"]["tree"] == "events"


def test_params_override_mapping(tiny_root_file, tmp_path):
    src = make([tiny_root_file], mapping_file(tmp_path, JAGGED), selection="evt >= 103")
    assert [e["event_id"] for e in events_of(src)] == [103, 104]


def test_many_files_and_globs(tiny_root_file, tmp_path):
    import shutil

    (tmp_path / "more").mkdir()
    shutil.copy(tiny_root_file, tmp_path / "more" / "a.root")
    shutil.copy(tiny_root_file, tmp_path / "more" / "b.root")
    data = {k: v for k, v in JAGGED.items() if k != "event_id"}
    src = make([tmp_path / "more" / "*.root"], mapping_file(tmp_path, data))
    ids = [e["event_id"] for e in events_of(src)]
    assert ids == [0, 1, 2, 3, 4] + [2**32 + i for i in range(5)]
    assert len(make([tmp_path / "more"], mapping_file(tmp_path, data)).files) == 2


def test_flat_layout_grouped(tmp_path):
    import uproot

    ev = np.array([3, 3, 3, 5, 5, 8, 9, 9, 9, 9], dtype=np.int32)
    val = np.arange(10, dtype=np.float32)
    path = tmp_path / "flat.root"
    with uproot.recreate(path) as f:
        write_ttree(f, "hits", {"Event": ev, "Val": val,
                                "Id": (np.arange(10) + 1000 * (1 + np.arange(10) % 3)).astype(np.int32)})
        write_ttree(f, "gen", {"Event": np.array([9, 8, 5, 3], np.int32), "p": np.array([0.9, 0.8, 0.5, 0.3], np.float32)})
    data = {"tree": "hits", "layout": "flat", "group_by": "Event", "step_size": 3, "entries_per_shard": 4,
            "hits": {"x": "Val", "y": 0.0, "z": "Id // 1000", "layer": "Id // 1000"},
            "join": {"tree": "gen", "key": "Event", "event": {"p": "p"}}}
    evs = events_of(make([path], mapping_file(tmp_path, data)))
    assert [e["event_id"] for e in evs] == [3, 5, 8, 9]
    assert [list(e["x"]) for e in evs] == [[0, 1, 2], [3, 4], [5], [6, 7, 8, 9]]
    assert [e["p"] for e in evs] == pytest.approx([0.3, 0.5, 0.8, 0.9])
    np.testing.assert_array_equal(evs[0]["layer"], [1, 2, 3])
    src = make([path], mapping_file(tmp_path, data))
    assert [e["event_id"] for e in events_of_limited(src, 3)] == [3, 5, 8]


def events_of_limited(src, n):
    out = []
    for task in src.plan(max_events=n):
        for chunk in src.read(task):
            out += table_to_events(validate_table(chunk))
    return out


def test_missing_tree_and_branch(tiny_root_file, tmp_path):
    with pytest.raises(DataError, match=r"tree `event` is not in .*close matches: events"):
        make([tiny_root_file], mapping_file(tmp_path, {**JAGGED, "tree": "event"})).plan()
    bad = {**JAGGED, "hits": {**JAGGED["hits"], "x": "hit_xx"}}
    with pytest.raises(DataError, match=r"`hit_xx`.*close matches: hit_x"):
        make([tiny_root_file], mapping_file(tmp_path, bad)).plan()


def test_unknown_mapping_key(tiny_root_file, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key `hit`.*did you mean `hits`"):
        make([tiny_root_file], mapping_file(tmp_path, {"tree": "events", "hit": {}}))
    with pytest.raises(ConfigError, match="reduce"):
        make([tiny_root_file], mapping_file(tmp_path, {**JAGGED, "event": {"label": {"expr": "label", "reduce": "avg"}}}))
    with pytest.raises(ConfigError, match="needs `mapping=YAML`"):
        make([tiny_root_file], None)


def test_truncated_and_non_root(tiny_root_file, tmp_path):
    m = mapping_file(tmp_path, JAGGED)
    trunc = tmp_path / "trunc.root"
    trunc.write_bytes(tiny_root_file.read_bytes()[:2000])
    with pytest.raises(DataError, match="trunc.root"):
        src = make([trunc], m)
        events_of(src)
    text = tmp_path / "notroot.root"
    text.write_text("hit_id,x\n1,2\n")
    with pytest.raises(DataError, match="not a readable ROOT file"):
        make([text], m).plan()
    with pytest.raises(DataError, match="does not exist"):
        make([tmp_path / "nope.root"], m)


def test_list_event_column_needs_reduce(tiny_root_file, tmp_path):
    bad = {**JAGGED, "event": {"n_tracks": "part_id"}}
    with pytest.raises(DataError, match="reduce"):
        events_of(make([tiny_root_file], mapping_file(tmp_path, bad)))


def test_label_map(tiny_root_file, tmp_path):
    data = {**JAGGED, "event": {"label": {"expr": "label", "map": {0: 1, 1: 0}}}}
    evs = events_of(make([tiny_root_file], mapping_file(tmp_path, data)))
    assert [e["label"] for e in evs] == [1, 0, 1, 0, 0]
    data = {**JAGGED, "event": {"label": {"expr": "label", "map": {0: 1}}}}
    with pytest.raises(DataError, match="not in its map"):
        events_of(make([tiny_root_file], mapping_file(tmp_path, data)))


def test_flat_event_id_expression_and_zero_entries(tmp_path):
    import uproot

    with uproot.recreate(tmp_path / "f.root") as f:
        write_ttree(f, "hits", {"ev": np.array([1, 1, 2, 2, 2]), "run": np.full(5, 7), "x": np.arange(5.0)})
    data = {"tree": "hits", "layout": "flat", "group_by": "ev", "event_id": "run * 1000 + ev",
            "hits": {"x": "x", "y": 0.0, "z": 0.0}}
    evs = events_of(make([tmp_path / "f.root"], mapping_file(tmp_path, data)))
    assert [(e["event_id"], e["x"].tolist()) for e in evs] == [(7001, [0.0, 1.0]), (7002, [2.0, 3.0, 4.0])]
    with uproot.recreate(tmp_path / "z.root") as f:
        f.mktree("hits", {"ev": np.int64, "run": np.int64, "x": np.float64})
    with pytest.raises(DataError, match=r"tree `hits` has 0 entries in 1 input file\(s\) \(`.*z.root`\)"):
        make([tmp_path / "z.root"], mapping_file(tmp_path, data)).plan()
