"""Mapping validation: every error names the bad value and the allowed choices."""

from __future__ import annotations

import pytest

from hepgraph.errors import ConfigError
from hepgraph.sources.mapping import parse_mapping

BASE = {"tree": "events", "hits": {"x": "hx", "y": "hy", "z": "hz"}}


@pytest.mark.parametrize("data, needles", [
    ({**BASE, "hits": {**BASE["hits"], "time": "ht"}}, ["`time`", "hit columns: x, y, z, t, charge", "hit_"]),
    ({**BASE, "particles": {"pid": "p"}}, ["`pid`", "particle columns: particle_id", "particle_"]),
    ({**BASE, "event": {"x": "a"}}, ["`x` is a hit column", "event columns: event_id, label"]),
    ({**BASE, "event": {"label": {"expr": "a", "reduce": "avg"}}}, ["`avg`", "first, sum, count, max, min, mean"]),
    ({**BASE, "layout": "rows"}, ["`rows`", "`jagged` or `flat`"]),
    ({**BASE, "selct": {}}, ["`selct`", "did you mean `select`"]),
    ({**BASE, "select": {"hit": "a > 0"}}, ["`hit`", "valid keys: hits, events"]),
    ({**BASE, "dtypes": {"x": "float16"}}, ["`float16`", "float32, float64, int32, int64"]),
    ({**BASE, "scale": {"q": 2.0}}, ["`q`", "mapped: "]),
    ({**BASE, "geometry": {"file": "a.csv", "id": "id", "hit_column": "hit_ch", "columns": {"dir_x": "d"}}},
     ["hit_column `hit_ch`", "mapped: x, y, z"]),
    ({**BASE, "geometry": {"file": "a.csv", "id": "id", "on": "x", "columns": {}}}, ["unknown key `on`", "hit_column"]),
    ({"hits": BASE["hits"]}, ["needs `tree: <TTree name>`"]),
    ({"tree": "e", "hits": {"x": "a"}}, ["missing y, z"]),
])
def test_errors_name_allowed_choices(data, needles):
    with pytest.raises(ConfigError) as err:
        parse_mapping(data, "m.yaml")
    for n in needles:
        assert n in str(err.value), str(err.value)


def test_hdf5_needs_arrays_and_geometry_may_give_positions():
    with pytest.raises(ConfigError, match="needs `arrays:"):
        parse_mapping({"hits": BASE["hits"]}, "m.yaml", "hdf5")
    with pytest.raises(ConfigError, match=r"unknown key `tree`.*valid keys: arrays"):
        parse_mapping({**BASE, "arrays": {"a": "a"}}, "m.yaml", "hdf5")
    m = parse_mapping({"tree": "e", "hits": {"hit_ch": "ch"}, "geometry": {
        "file": "g.csv", "id": "id", "hit_column": "hit_ch", "columns": {"x": "gx", "y": "gy", "z": "gz"}}}, "d/m.yaml")
    assert m.geometry["missing"] == "error" and m.base_dir == "d"
    assert m.hit_columns() == ["hit_ch", "x", "y", "z"]


@pytest.mark.parametrize("names", [["a", "a"], [1, 2], "abc", [None, "b"], ["", "b"]])
def test_class_names_are_distinct_strings(names):
    with pytest.raises(ConfigError, match="must be a list of distinct, non-empty names"):
        parse_mapping({**BASE, "label_names": names}, "m.yaml")
    with pytest.raises(ConfigError, match="semantic_names"):
        parse_mapping({**BASE, "semantic_names": names}, "m.yaml")
    assert parse_mapping({**BASE, "label_names": ["e minus", "µ+", "1pi"]}, "m.yaml").label_names == [
        "e minus", "µ+", "1pi"]


def test_csv_mapping_class_names_are_checked(tmp_path):
    from hepgraph.sources.csv import CsvSource

    m = tmp_path / "m.yaml"
    m.write_text("hits: {x: x, y: y, z: z}\nlabel_names: [e, e]\n")
    with pytest.raises(ConfigError, match=r"label_names `\['e', 'e'\]`"):
        CsvSource(inputs=[str(tmp_path)], mapping=m)
