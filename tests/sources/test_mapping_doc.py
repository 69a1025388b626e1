"""docs/mapping.md: its five worked examples build through the CLI on files written here with
uproot and give the file's values; the reference lists every mapping key and schema column."""

from __future__ import annotations

import re
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import hepgraph
from hepgraph.cli.main import app
from hepgraph.events.schema import COLUMNS
from hepgraph.sources.mapping import COMMON_KEYS, HDF5_KEYS, ROOT_KEYS

from tests.conftest import write_ttree

DOC = Path(__file__).resolve().parents[2] / "docs" / "mapping.md"


def example(name: str) -> dict:
    text = DOC.read_text()
    m = re.search(rf"<!-- example: {name} -->\s*```yaml\n(.*?)```", text, re.S)
    assert m, f"example {name} not in {DOC}"
    return yaml.safe_load(m.group(1))


def build(tmp_path, name, root_file, *extra):
    mapping = tmp_path / f"{name}.yaml"
    mapping.write_text(yaml.safe_dump(example(name)))
    out = tmp_path / f"ds-{name}"
    res = CliRunner().invoke(app, ["build-dataset", "--source", "root", "--mapping", str(mapping), "--input",
                                   str(root_file), "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    ds = hepgraph.open_dataset(out)
    return [ds[i] for i in range(len(ds))]


RNG = np.random.default_rng(5)
COUNTS = np.array([4, 0, 7, 2, 5])
N = int(COUNTS.sum())
EVENTS = {
    "evt": np.arange(10, 15, dtype=np.int64),
    "hit_x": ak.unflatten(RNG.normal(0, 50, N).astype(np.float32), COUNTS),
    "hit_y": ak.unflatten(RNG.normal(0, 50, N).astype(np.float32), COUNTS),
    "hit_z": ak.unflatten(RNG.normal(0, 50, N).astype(np.float32), COUNTS),
    "hit_e": ak.unflatten(RNG.exponential(0.002, N).astype(np.float32), COUNTS),
    "hit_t": ak.unflatten(1.2e8 + RNG.uniform(0, 5000, N).round(2), COUNTS),
    "hit_trk": ak.unflatten(RNG.integers(1, 3, N).astype(np.int64), COUNTS),
    "pdg": np.array([11, 13, 211, 2212, 13], dtype=np.int32),
}


def events_file(tmp_path, **more_trees):
    path = tmp_path / "events.root"
    import uproot

    with uproot.recreate(path) as f:
        write_ttree(f, "events", EVENTS)
        for name, data in more_trees.items():
            write_ttree(f, name, data)
    return path


def flat(v):
    return np.asarray(ak.to_numpy(v))


def test_jagged(tmp_path):
    evs = build(tmp_path, "jagged", events_file(tmp_path))
    assert [e["event_id"] for e in evs] == [10, 12, 13, 14]  # select.events: n_hits >= 1 drops event 11
    for e in evs:
        i = int(e["event_id"]) - 10
        x, y = flat(EVENTS["hit_x"][i]), flat(EVENTS["hit_y"][i])
        np.testing.assert_allclose(e["x"], x * 10.0, rtol=1e-6)
        np.testing.assert_allclose(e["hit_r"], np.sqrt(x.astype(np.float64) ** 2 + y ** 2) * 10.0, rtol=1e-5)
        np.testing.assert_allclose(e["charge"], flat(EVENTS["hit_e"][i]) * 1000.0, rtol=1e-6)
        assert np.max(np.abs(e["t"] - flat(EVENTS["hit_t"][i]))) < 0.01  # ns at 1.2e8 ns
        np.testing.assert_array_equal(e["track_id"], flat(EVENTS["hit_trk"][i]))
        assert e["label"] == {11: 0, 13: 1, 211: 2}.get(int(EVENTS["pdg"][i]), 3)


def test_flat_group_by(tmp_path):
    import uproot

    ev = np.repeat([3, 4, 9], [3, 1, 4]).astype(np.int32)
    lay = np.array([1001, 2005, 3010, 1002, 1003, 2004, 3007, 3008], dtype=np.int32)
    energy = np.array([0.5, 0.005, 0.2, 0.3, 0.02, 0.001, 0.4, 0.05], dtype=np.float32)
    time = np.linspace(10, 80, 8)
    with uproot.recreate(tmp_path / "flat.root") as f:
        write_ttree(f, "hits", {"Event": ev, "Laystrip": lay, "Energy": energy, "Time": time})
    evs = build(tmp_path, "flat", tmp_path / "flat.root")
    assert [e["event_id"] for e in evs] == [3, 4, 9]
    for e in evs:
        rows = (ev == e["event_id"]) & (energy > 0.01)
        np.testing.assert_allclose(e["x"], (lay[rows] % 1000) * 0.5)
        np.testing.assert_allclose(e["z"], (lay[rows] // 1000) * 100.0)
        np.testing.assert_array_equal(e["layer"], lay[rows] // 1000)
        np.testing.assert_allclose(e["t"], time[rows])


def test_join(tmp_path):
    order = np.array([3, 0, 4, 1, 2])
    p = RNG.normal(size=(5, 3)).astype(np.float32)
    truth = {"evt": EVENTS["evt"][order], "px": p[order, 0], "py": p[order, 1], "pz": p[order, 2]}
    evs = build(tmp_path, "join", events_file(tmp_path, truth=truth))
    assert len(evs) == 5
    for e in evs:
        i = int(e["event_id"]) - 10
        px, py, pz = p[i].astype(np.float64)
        assert e["px"] == pytest.approx(px, rel=1e-6)
        assert e["p"] == pytest.approx(np.sqrt(px**2 + py**2 + pz**2), rel=1e-6)
        assert e["theta"] == pytest.approx(np.arctan2(np.hypot(px, py), pz), rel=1e-5)


def test_friends(tmp_path):
    pc = np.array([2, 0, 2, 2, 3])
    mc = {"part_id": ak.unflatten(np.array([1, 2, 1, 2, 1, 2, 1, 2, 3], np.int64), pc),
          "part_pdg": ak.unflatten(np.array([13, -13, 11, 22, 211, 2212, 11, 13, 22], np.int32), pc),
          "part_px": ak.unflatten(RNG.normal(size=9).astype(np.float32), pc),
          "primary_e": RNG.uniform(1, 5, 5)}
    evs = build(tmp_path, "friends", events_file(tmp_path, mc=mc))
    for i, e in enumerate(evs):
        np.testing.assert_array_equal(e["particle_pdg"], flat(mc["part_pdg"][i]))
        np.testing.assert_allclose(e["particle_px"], flat(mc["part_px"][i]))
        assert e["n_tracks"] == pc[i] and e["energy"] == pytest.approx(mc["primary_e"][i], rel=1e-6)
        assert set(e["track_id"]) <= set(flat(mc["part_id"][i]))


def test_geometry(tmp_path):
    import uproot

    channels = np.arange(100, 140)
    pos = RNG.uniform(-20, 20, (40, 3)).round(3)
    direction = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    lines = ["channel,px,py,pz,dx,dy,dz"] + [",".join(map(str, [c, *p, *d])) for c, p, d in
                                              zip(channels, pos, direction)]
    (tmp_path / "pmts.csv").write_text("\n".join(lines) + "\n")
    c = np.array([3, 5, 0, 2])
    pmt = RNG.integers(100, 140, c.sum())
    npe = RNG.integers(0, 4, c.sum()).astype(np.float32)
    with uproot.recreate(tmp_path / "pmt.root") as f:
        write_ttree(f, "pmthits", {"event": np.arange(4, dtype=np.int32), "pmt": ak.unflatten(pmt, c),
                                   "time": ak.unflatten(RNG.uniform(0, 1e3, c.sum()), c),
                                   "npe": ak.unflatten(npe, c)})
    evs = build(tmp_path, "geometry", tmp_path / "pmt.root")
    off = np.concatenate([[0], np.cumsum(c)])
    for e in evs:
        i = int(e["event_id"])
        keep = npe[off[i] : off[i + 1]] >= 1
        ids = pmt[off[i] : off[i + 1]][keep]
        np.testing.assert_array_equal(e["hit_pmt"], ids)
        np.testing.assert_allclose(e["x"], pos[ids - 100, 0] * 1000.0, rtol=1e-6)
        np.testing.assert_allclose(e["dir_z"], direction[ids - 100, 2], rtol=1e-6)


def test_reference_lists_every_key_and_column():
    text = DOC.read_text()
    for key in (*COMMON_KEYS, *ROOT_KEYS, *HDF5_KEYS):
        assert f"`{key}`" in text, key
    for name in COLUMNS:
        assert re.search(rf"`{name}`", text), name
