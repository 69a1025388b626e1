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
    extra = ds.manifest["extra"]
    assert extra["field_T"] is None and extra["field_origin"] == "unknown"   # 2-hit tracks: no fit
    assert make([tmp_path / "d"], field_T=2.0).info().extra["field_T"] == 2.0
    geo = extra["tracker_geometry"]
    assert geo["layer_columns"] == ["hit_volume", "layer"] and len(geo["surfaces"]) == 3  # noise hit dropped


def write_simulated(d: Path, source: str, n: int = 1, detectors: bool = False, **params) -> list[dict]:
    """TrackML-format CSVs of simulated events (particle ids shifted by 1: 0 is noise there)."""
    import pyarrow as pa

    from hepgraph.events import table_to_events

    src = SOURCES.get(source)(seed=4, params={"block_size": n, **params})
    evs = table_to_events(pa.concat_tables([t for task in src.plan(n) for t in src.read(task)]))
    d.mkdir(parents=True, exist_ok=True)
    for k, ev in enumerate(evs):
        h = len(ev["x"])
        hid = np.arange(1, h + 1)
        vol = np.where(np.asarray(ev["layer"]) < 100, 1, 2)
        rows = zip(hid, ev["x"], ev["y"], ev["z"], vol, ev["layer"], ev["module"])
        (d / f"event{k:09d}-hits.csv").write_text(
            "hit_id,x,y,z,volume_id,layer_id,module_id\n" + "".join(f"{a},{b},{c},{e},{f},{g},{m}\n" for a, b, c, e, f, g, m in rows))
        pid = np.asarray(ev["track_id"]) + 1
        (d / f"event{k:09d}-truth.csv").write_text(
            "hit_id,particle_id,weight\n" + "".join(f"{a},{b},1.0\n" for a, b in zip(hid, pid)))
        prow = zip(np.asarray(ev["particle_id"]) + 1, *(ev[f"particle_{c}"] for c in ("vx", "vy", "vz", "px", "py", "pz", "q")))
        (d / f"event{k:09d}-particles.csv").write_text(
            "particle_id,vx,vy,vz,px,py,pz,q\n" + "".join(",".join(str(v) for v in r) + "\n" for r in prow))
    if detectors:
        (d / "detectors.csv").write_text("volume_id,layer_id,module_id,cx,cy,cz\n1,0,0,30,0,-100\n1,0,1,30,0,100\n"
                                         "1,1,0,60,0,-300\n1,1,1,-60,0,300\n")
    return evs


@pytest.mark.parametrize("source,field", [("sim-silicon-barrel", 2.0), ("sim-forward-planes", 0.0)])
def test_field_and_layers_come_from_the_files(tmp_path, source, field):
    write_simulated(tmp_path / "ev", source, tracks_per_collision=20)
    extra = make([tmp_path / "ev"]).info().extra
    assert extra["field_origin"] == "truth fit"
    assert extra["field_T"] == pytest.approx(field, abs=0.03)
    kinds = {s["kind"] for s in extra["tracker_geometry"]["surfaces"]}
    assert kinds == ({"cylinder", "plane"} if field else {"plane"})


def test_detectors_file_gives_the_layers(tmp_path):
    write_simulated(tmp_path / "ev", "sim-forward-planes", detectors=True, tracks_per_collision=5)
    geo = make([tmp_path / "ev"]).info().extra["tracker_geometry"]
    assert geo["origin"] == "detectors file detectors.csv"
    assert [(s["kind"], s.get("r")) for s in geo["surfaces"]] == [("cylinder", 30.0), ("cylinder", 60.0)]


def test_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        make([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="needs input"):
        make(None)
    with pytest.raises(ConfigError, match="events_per_shar"):
        make([tmp_path], events_per_shar=3)
    write_event(tmp_path / "g", 1, gz=False)
    with pytest.raises(ConfigError, match="field_T"):
        make([tmp_path / "g"], field_T="strong")
    write_event(tmp_path / "e", 1, gz=False)
    (tmp_path / "e" / "event000000001-truth.csv").unlink()
    with pytest.raises(DataError, match="no truth file"):
        make([tmp_path / "e"])
    write_event(tmp_path / "f", 1, gz=False)
    (tmp_path / "f" / "event000000001-hits.csv").write_text("hit_id,x,y\n1,2,3\n")
    src = make([tmp_path / "f"])
    with pytest.raises(DataError, match="lacks column"):
        list(src.read(src.plan()[0]))


def _telescope_event(d: Path, offset: float) -> np.ndarray:
    """A TrackML-format six-plane telescope (20 mm wide, planes 25 mm apart), shifted by ``offset`` mm."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    x = np.repeat(rng.uniform(-9, 9, 2), 6) + offset
    y = np.repeat(rng.uniform(-9, 9, 2), 6) + offset
    z = np.tile(np.arange(6) * 25.0, 2) + offset
    hid = np.arange(1, 13)
    rows = "\n".join(f"{h},{a:.4f},{b:.4f},{c:.4f},1,{2 * (h % 6)},1" for h, a, b, c in zip(hid, x, y, z))
    (d / "event000000001-hits.csv").write_text("hit_id,x,y,z,volume_id,layer_id,module_id\n" + rows + "\n")
    truth = "\n".join(f"{h},{1 + (h - 1) // 6},0,0,0,0,0,1,0.1" for h in hid)
    (d / "event000000001-truth.csv").write_text("hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight\n" + truth + "\n")
    (d / "event000000001-particles.csv").write_text("particle_id,particle_type,vx,vy,vz,px,py,pz,q,nhits\n"
                                                    "1,13,0,0,0,0,0,120,-1,6\n2,13,0,0,0,0,0,120,-1,6\n")
    return np.stack([x, y, z], 1)


def test_a_detector_far_from_the_origin_gets_its_own_box_and_centred_features(tmp_path):
    from hepgraph.events.features import FeatureSpec

    feats = []
    for off in (0.0, 1e5):
        pos = _telescope_event(tmp_path / f"t{off:g}", off)
        info = make([tmp_path / f"t{off:g}"], field_T=0.0).info()
        ext = np.asarray(info.extra["extent"])
        lo, hi = pos.min(0), pos.max(0)
        if off:  # the box is the hits' own range (+5 % + 1 mm), not [-1.05e5, 1.05e5]
            np.testing.assert_allclose(ext, np.stack([lo - 0.05 * (hi - lo) - 1, hi + 0.05 * (hi - lo) + 1], 1))
        f = FeatureSpec.parse(info.default_features).apply(dict(zip("xyz", pos.T)))
        assert np.abs(f).max() <= 1.0
        feats.append(f)
    # at the origin the telescope's x and y surround 0 but z does not: the same box either way, up to the
    # float32 hit columns the box is read from (8 um steps at 1e5 mm over half-widths of ~10 mm)
    np.testing.assert_allclose(feats[0], feats[1], atol=2e-3)


def test_hits_only_events_build_without_truth(tmp_path):
    for n in (1, 2):
        write_event(tmp_path / "d", n, gz=n == 2)
        for kind in ("truth", "particles"):
            (tmp_path / "d" / f"event{n:09d}-{kind}.csv{'.gz' if n == 2 else ''}").unlink()
    out = build_dataset(make([tmp_path / "d"]), tmp_path / "ds")
    ds = hepgraph.open_dataset(out)
    assert len(ds) == 2
    ev = ds[0]
    assert ev["event_id"] == 1
    np.testing.assert_array_equal(ev["hit_id"], [3, 1, 2, 4])
    np.testing.assert_allclose(ev["z"], [-10.0, 20.0, 5.0, 9.0])
    np.testing.assert_array_equal(ev["hit_volume"], [7, 8, 8, 9])
    np.testing.assert_array_equal(ev["module"], [11, 12, 13, 14])
    np.testing.assert_allclose(ev["charge"], [1.0, 0.75, 0.0, 0.0])          # cells still read
    m = ds.manifest
    assert not {"track_id", "pdg", "hit_weight", "particle_id", "n_tracks"} & set(m["columns"])
    assert m["default_task"] is None and m["counts"]["particles"] == 0
    extra = m["extra"]
    assert extra["field_T"] is None and extra["field_origin"] == "unknown"
    assert extra["tracker_geometry"]["origin"] == "hits of the first event"
    assert len(extra["tracker_geometry"]["surfaces"]) == 4                     # (volume, layer): 4 pairs
    assert make([tmp_path / "d"], field_T=2.0).info().extra["field_origin"] == "file"
    with pytest.raises(ConfigError, match="noise"):
        make([tmp_path / "d"], noise=False)


def test_events_with_and_without_truth_are_refused(tmp_path):
    write_event(tmp_path / "m", 1, gz=False)
    write_event(tmp_path / "m", 2, gz=False)
    for kind in ("truth", "particles"):
        (tmp_path / "m" / f"event000000002-{kind}.csv").unlink()
    with pytest.raises(DataError, match=r"mix events with truth \(1, e\.g\. `.*event000000001`\) and events with "
                                        r"hits only \(1, e\.g\. `.*event000000002`\)"):
        make([tmp_path / "m"])
