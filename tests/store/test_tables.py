"""write_table: the same columns in ROOT (a TTree), Parquet and CSV, identifier-safe, atomic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hepgraph.errors import ConfigError, DataError, OutputExistsError
from hepgraph.store.tables import safe_name, safe_names, write_table

COLS = {"event_id": np.array([7, 9, 11], np.int64), "hit_id": np.array([0, 1, 2], np.int64),
        "pred": np.array([1, 0, 2], np.int64), "prob_e-": np.array([0.1, 0.7, 0.2], np.float32),
        "prob_mu+": np.array([0.8, 0.2, 0.1], np.float32), "prob_>=2": np.array([0.1, 0.1, 0.7], np.float32),
        "label": np.array([1, 0, 0], np.int32)}
SAFE = ["event_id", "hit_id", "pred", "prob_e_minus", "prob_mu_plus", "prob_ge_2", "label"]


def test_safe_names():
    assert [safe_name(n) for n in COLS] == SAFE
    assert safe_name("2 jets") == "_2_jets" and safe_name("pi0") == "pi0"
    assert list(safe_names(["a-", "a_minus", "a+b"]).values()) == ["a_minus", "a_minus_2", "a_plus_b"]


@pytest.mark.parametrize("suffix", ["root", "parquet", "csv"])
def test_same_columns_in_every_format(tmp_path, suffix):
    path = write_table(tmp_path / f"t.{suffix}", COLS, tree="predictions", classes=["e-", "mu+", ">=2"])
    if suffix == "root":
        import uproot

        f = uproot.open(path)
        assert f.classnames()["predictions;1"] == "TTree"  # a TTree, not an RNTuple
        got = f["predictions"].arrays(library="np")
        assert f["classes"].arrays(library="np")["name"].tolist() == ["e-", "mu+", ">=2"]
    elif suffix == "parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        got = {k: t.column(k).to_numpy() for k in t.column_names}
        assert json.loads(t.schema.metadata[b"classes"]) == ["e-", "mu+", ">=2"]
    else:
        import pyarrow.csv as pcsv

        t = pcsv.read_csv(path)
        got = {k: t.column(k).to_numpy() for k in t.column_names}
    assert list(got) == SAFE
    for (k, v), s in zip(COLS.items(), SAFE):
        np.testing.assert_allclose(got[s], v, rtol=1e-6)


def test_refuses_existing_and_keeps_it(tmp_path):
    p = tmp_path / "t.root"
    p.write_text("precious")
    with pytest.raises(OutputExistsError, match="`overwrite=True`"):
        write_table(p, COLS)
    assert p.read_text() == "precious"
    write_table(p, COLS, overwrite=True)
    assert p.read_bytes()[:4] == b"root"
    assert [q.name for q in tmp_path.iterdir()] == ["t.root"]  # no temporary file left


def test_bad_suffix_and_shapes(tmp_path):
    with pytest.raises(ConfigError, match=r"\.root, \.parquet, \.pq, \.csv"):
        write_table(tmp_path / "t.txt", COLS)
    with pytest.raises(DataError, match="one length"):
        write_table(tmp_path / "t.csv", {"a": np.zeros(2), "b": np.zeros(3)})
    empty = write_table(tmp_path / "e.root", {"event_id": np.zeros(0, np.int64)})
    import uproot

    assert uproot.open(empty)["table"].num_entries == 0
