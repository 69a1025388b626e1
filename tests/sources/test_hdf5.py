"""The ``hdf5`` source on files written here with h5py in the PILArNet-M layout (vlen rows),
the larcv/SPINE layout (region references in an ``events`` compound dataset), and flat rows
with counts or offsets; values compared with what was written."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import hepgraph
import hepgraph.sources  # noqa: F401
from hepgraph.cli.main import app
from hepgraph.errors import DataError, MissingDependencyError
from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES

h5py = pytest.importorskip("h5py")


def write_pilarnet(path, n=5, seed=0):
    """PILArNet-M: per event vlen rows point (N*8), cluster (M*6), cluster_extra (M*5)."""
    rng = np.random.default_rng(seed)
    truth = []
    with h5py.File(path, "w") as f:
        p = f.create_dataset("point", (n,), dtype=h5py.vlen_dtype(np.float32))
        c = f.create_dataset("cluster", (n,), dtype=h5py.vlen_dtype(np.int16))
        e = f.create_dataset("cluster_extra", (n,), dtype=h5py.vlen_dtype(np.float32))
        for i in range(n):
            sizes = rng.integers(1, 9, 3)
            if i == 2:
                sizes[1] = 0  # a cluster without points
            cl = np.stack([sizes, [-1, 10 + i, 20 + i], [-1, 10 + i, 10 + i], [-1, 0, 0], [4, 1, 0], [-1, 4, 1]], 1)
            pts = rng.uniform(0, 768, (int(sizes.sum()), 8)).astype(np.float32)
            pts[:, 5] = rng.uniform(0, 2000, len(pts))
            extra = rng.normal(size=(3, 5)).astype(np.float32)
            p[i], c[i], e[i] = pts.ravel(), cl.astype(np.int16).ravel(), extra.ravel()
            truth.append((pts, cl, extra))
    return truth


def events(tmp_path, data, path):
    m = tmp_path / "map.yaml"
    m.write_text(yaml.safe_dump(data))
    src = SOURCES.get("hdf5")(inputs=[str(path)], mapping=m, seed=0, params={"step_size": 2})
    return [ev for t in src.plan() for c in src.read(t) for ev in table_to_events(validate_table(c))]


def test_pilarnet_shipped_mapping_through_the_cli(tmp_path):
    truth = write_pilarnet(tmp_path / "generic_v2_5_v1.h5")
    res = CliRunner().invoke(app, ["build-dataset", "--source", "hdf5", "--mapping", "pilarnet-m", "--input",
                                   str(tmp_path), "--out", str(tmp_path / "ds")])
    assert res.exit_code == 0, res.output
    ds = hepgraph.open_dataset(tmp_path / "ds")
    assert len(ds) == 5 and ds.manifest["semantic_names"][1] == "track"
    for i, (pts, cl, extra) in enumerate(truth):
        ev = ds[i]
        np.testing.assert_allclose(ev["x"], pts[:, 0] * 3.0, rtol=1e-6)
        np.testing.assert_allclose(ev["charge"], pts[:, 3])
        np.testing.assert_allclose(ev["t"], pts[:, 5])
        np.testing.assert_array_equal(ev["semantic"], np.repeat(cl[:, 4], cl[:, 0]))
        np.testing.assert_array_equal(ev["track_id"], np.repeat(cl[:, 1], cl[:, 0]))
        np.testing.assert_array_equal(ev["particle_id"], cl[:, 1])
        np.testing.assert_allclose(ev["particle_vz"], extra[:, 4])
        assert ev["n_tracks"] == 2


def write_spine(path):
    """larcv/SPINE output: flat datasets, an `events` compound dataset of region references."""
    rng = np.random.default_rng(1)
    counts, pcounts = [4, 0, 6], [2, 0, 1]
    data = rng.normal(size=(sum(counts), 4)).astype(np.float32)
    pdt = np.dtype([("id", "i8"), ("pdg_code", "i4"), ("position", "f4", (3,)), ("energy_init", "f8")])
    parts = np.zeros(sum(pcounts), pdt)
    parts["id"], parts["pdg_code"] = [0, 1, 0], [13, 2212, 11]
    parts["position"] = rng.normal(size=(3, 3))
    parts["energy_init"] = [250.5, 80.25, 30.0]
    pdt_file = np.dtype(pdt.descr + [("index", h5py.vlen_dtype(np.int64)), ("name", h5py.string_dtype())])
    with h5py.File(path, "w") as f:
        d = f.create_dataset("input_data", data=data)
        p = f.create_dataset("particles", (len(parts),), dtype=pdt_file)
        for k in pdt.names:
            p[k] = parts[k]
        ev = f.create_dataset("events", (3,), dtype=[("input_data", h5py.regionref_dtype),
                                                      ("particles", h5py.regionref_dtype)])
        a = b = 0
        for i in range(3):
            ev[i] = (d.regionref[a : a + counts[i]], p.regionref[b : b + pcounts[i]])
            a, b = a + counts[i], b + pcounts[i]
        f.create_dataset("run_info", data=np.array([[7, 100], [7, 101], [7, 102]]))
    return data, parts, counts, pcounts


SPINE = {
    "arrays": {"voxels": {"dataset": "input_data", "index": "events"},
               "particles": {"dataset": "particles", "index": "events"}, "run": {"dataset": "run_info"}},
    "event_id": "run[:, 1]",
    "hits": {"x": "voxels[:, 0]", "y": "voxels[:, 1]", "z": "voxels[:, 2]", "charge": "voxels[:, 3]"},
    "particles": {"particle_id": "particles.id", "particle_pdg": "particles.pdg_code",
                  "particle_vx": "particles.position[:, 0]"},
    "event": {"label": {"expr": "particles.pdg_code", "reduce": "first", "map": {13: 0, 11: 1}, "default": -1},
              "energy": {"expr": "particles.energy_init", "reduce": "sum"}},
}


def test_spine_region_references_and_records(tmp_path):
    data, parts, counts, pcounts = write_spine(tmp_path / "spine.h5")
    evs = events(tmp_path, SPINE, tmp_path / "spine.h5")
    assert [e["event_id"] for e in evs] == [100, 101, 102]
    starts, pstarts = np.cumsum([0, *counts]), np.cumsum([0, *pcounts])
    for i, ev in enumerate(evs):
        np.testing.assert_array_equal(ev["charge"], data[starts[i] : starts[i + 1], 3])
        p = parts[pstarts[i] : pstarts[i + 1]]
        np.testing.assert_array_equal(ev["particle_pdg"], p["pdg_code"])
        np.testing.assert_allclose(ev["particle_vx"], p["position"][:, 0])
        assert ev["energy"] == pytest.approx(p["energy_init"].sum())
    assert [e["label"] for e in evs] == [0, -1, 1] and len(evs[1]["x"]) == 0


@pytest.mark.parametrize("how", ["counts", "offsets"])
def test_flat_rows_with_counts_or_offsets_and_selection(tmp_path, how):
    rng = np.random.default_rng(2)
    counts = np.array([3, 0, 5, 2])
    hits = rng.normal(size=(counts.sum(), 3))
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f["hits/xyz"] = hits
        f["hits/n"] = counts
        f["hits/ptr"] = np.concatenate([[0], np.cumsum(counts)])
        f["label"] = np.array([1, 0, 1, 1])
    index = {"counts": "hits/n"} if how == "counts" else {"offsets": "hits/ptr"}
    data = {"arrays": {"h": {"dataset": "hits/xyz", **index}, "label": "label"},
            "hits": {"x": "h[:, 0]", "y": "h[:, 1]", "z": "h[:, 2]"}, "event": {"label": "label"},
            "select": {"hits": "z > -1", "events": "n_hits >= 2 and label == 1"}}
    evs = events(tmp_path, data, tmp_path / "flat.h5")
    off = np.concatenate([[0], np.cumsum(counts)])
    want = []
    for i in range(4):
        h = hits[off[i] : off[i + 1]]
        h = h[h[:, 2] > -1]
        if len(h) >= 2 and i != 1:
            want.append((i, h))
    assert [e["event_id"] for e in evs] == [i for i, _ in want]
    for ev, (_, h) in zip(evs, want):
        np.testing.assert_allclose(ev["z"], h[:, 2], rtol=1e-6)


def test_errors_name_the_problem(tmp_path, monkeypatch):
    write_pilarnet(tmp_path / "p.h5", n=2)
    base = {"arrays": {"point": {"dataset": "point", "width": 8}},
            "hits": {"x": "point[:, 0]", "y": "point[:, 1]", "z": "point[:, 2]"}}
    with pytest.raises(DataError, match=r"dataset `pointz` is not in .*close matches: point"):
        events(tmp_path, {**base, "arrays": {"point": {"dataset": "pointz", "width": 8}}}, tmp_path / "p.h5")
    with pytest.raises(DataError, match="not a multiple of width 7"):
        events(tmp_path, {**base, "arrays": {"point": {"dataset": "point", "width": 7}}}, tmp_path / "p.h5")
    with pytest.raises(DataError, match="unknown name `pont`"):
        events(tmp_path, {**base, "hits": {**base["hits"], "x": "pont[:, 0]"}}, tmp_path / "p.h5")
    (tmp_path / "bad.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        events(tmp_path, base, tmp_path / "bad.h5")
    import builtins

    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__",
                        lambda name, *a, **k: (_ for _ in ()).throw(ImportError("no h5py")) if name == "h5py"
                        else real(name, *a, **k))
    with pytest.raises(MissingDependencyError, match=r"pip install hepgraph\[hdf5\]"):
        events(tmp_path, base, tmp_path / "p.h5")


@pytest.mark.parametrize("kind", ["fixed", "vlen"])
def test_numbers_written_as_text_are_read_and_text_is_named(tmp_path, kind):
    def write(values):
        with h5py.File(tmp_path / "t.h5", "w") as f:
            f["hits/xyz"] = np.arange(12.0).reshape(4, 3)
            f["hits/n"] = np.array([2, 2])
            if kind == "fixed":
                f["hits/e"] = np.array([v.encode() for v in values])
            else:
                f.create_dataset("hits/e", data=np.array(values, dtype=object), dtype=h5py.string_dtype())

    data = {"arrays": {"h": {"dataset": "hits/xyz", "counts": "hits/n"}, "e": {"dataset": "hits/e", "counts": "hits/n"}},
            "hits": {"x": "h[:, 0]", "y": "h[:, 1]", "z": "h[:, 2]", "charge": "e"}}
    write(["1.5", "2", "-3e2", "4"])
    evs = events(tmp_path, data, tmp_path / "t.h5")
    np.testing.assert_allclose(np.concatenate([e["charge"] for e in evs]), [1.5, 2.0, -300.0, 4.0])
    write(["1.5", "2", "oops", "4"])
    with pytest.raises(DataError, match=r"arrays\.e: dataset `hits/e` of `.*t\.h5` holds text where a number is "
                                        r"needed \(`oops`, row 2\); clean the dataset"):
        events(tmp_path, data, tmp_path / "t.h5")
