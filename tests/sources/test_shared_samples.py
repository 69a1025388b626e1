"""Integration: ingest the three real samples of ``<repo>/../shared/data`` (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.store.manifest import MANIFEST_NAME

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent"),
]


def build(tmp_path, *args):
    res = CliRunner().invoke(app, ["build-dataset", *[str(a) for a in args], "--out", str(tmp_path / "ds")])
    assert res.exit_code == 0, res.output
    import hepgraph

    return hepgraph.open_dataset(tmp_path / "ds")


def test_trackml_event(tmp_path):
    ds = build(tmp_path, "--source", "trackml", "--input", DATA / "trackml-event1")
    ev = ds[0]
    assert len(ds) == 1 and ds.manifest["counts"]["hits"] == 5527
    assert (ev["track_id"] == -1).sum() == 829  # README: 829 noise hits
    import pyarrow.csv as pcsv

    truth = pcsv.read_csv(DATA / "trackml-event1" / "event000000001-truth.csv.gz")
    pids = np.unique(truth.column("particle_id").to_numpy())  # 469 ids including 0 = noise
    assert len(np.unique(ev["track_id"][ev["track_id"] != -1])) == len(pids[pids != 0])
    assert np.isclose(ev["particle_weight"].sum(), ev["hit_weight"].sum())


def test_larcv_particles(tmp_path):
    import uproot

    ds = build(tmp_path, "--source", "root", "--mapping", "larcv-particles", "--input", DATA / "larcv-particles")
    assert len(ds) == 20
    names = ds.manifest["label_names"]
    labels = sorted(names[int(ds[i]["label"])] for i in range(20))
    assert labels == ["electron"] * 10 + ["proton"] * 10
    img = uproot.open(DATA / "larcv-particles" / "electron.root")["image2d_data_tree"][
        "image2d_data_branch/_image_v/_image_v._img"].array(entry_stop=1)
    pix = np.asarray(img[0][0])
    ev = ds[0]
    assert len(ev["x"]) == int((pix > 0).sum())
    np.testing.assert_allclose(np.sort(ev["charge"]), np.sort(pix[pix > 0]))
    assert ds.manifest["columns"]["charge"]["unit"] == "MeV"


def test_geant4_strips(tmp_path):
    import uproot

    ds = build(tmp_path, "--source", "root", "--mapping", "geant4-strips", "--input",
               DATA / "geant4-strips" / "uproot-from-geant4.root", "--workers", "2")
    f = uproot.open(DATA / "geant4-strips" / "uproot-from-geant4.root")
    h = f["HitStrips"].arrays(library="np")
    assert len(ds) == 453 == len(np.unique(h["Event"]))
    assert ds.manifest["counts"]["hits"] == len(h["Event"])
    counts = [len(ds[i]["x"]) for i in range(len(ds))]
    assert min(counts) == 6 and max(counts) == 23
    ev = ds[0]
    rows = h["Event"] == ev["event_id"]
    np.testing.assert_array_equal(ev["layer"], h["Laystrip"][rows] // 1000)
    gen = f["GeneratedTracks"].arrays(library="np")
    assert ev["p"] == pytest.approx(gen["p"][gen["Event"] == ev["event_id"]][0])
    m = json.loads((tmp_path / "ds" / MANIFEST_NAME).read_text())
    assert m["default_task"] == "regression"


def test_larcv_full_branch_paths_in_expressions(tmp_path):
    """Full paths (slashes and dots) inside expressions, across the friend tree."""
    import uproot

    path = "particle_mctruth_branch/_part_v/_part_v._energy_init"
    ds = build(tmp_path, "--source", "root", "--mapping", "larcv-particles", "--input",
               DATA / "larcv-particles" / "electron.root", "--set", f"event.energy.expr={path} * 1000",
               "--set", "event.energy.reduce=first", "--set", "select.events=n_hits > 0 and label == 0")
    f = uproot.open(DATA / "larcv-particles" / "electron.root")
    e = f["particle_mctruth_tree"][path].array()
    assert len(ds) == len(e)
    for i in range(len(ds)):
        assert ds[i]["energy"] == pytest.approx(float(e[i][0]) * 1000, rel=1e-6)
