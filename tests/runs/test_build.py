"""Run pieces that come from the data, not from our presets: the default features are
standardised on the training hits, absolute times are refused unshifted, and a detector
100 m from the origin trains exactly as the same detector at the origin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.events import table_from_events, validate_table
from hepgraph.runs.build import fit_features, resolve_features
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.store import EventDataset, build_dataset


class AdcTpc(Source):
    """A TPC read out in ADC counts (~3000) with absolute hit times (~1e9 ns), shifted by ``offset`` mm."""

    name = "adc-tpc"

    def __init__(self, offset: float = 0.0, events: int = 24) -> None:
        self.offset, self.events = offset, events

    def config(self) -> dict[str, Any]:
        return {"offset": self.offset}

    def info(self) -> SourceInfo:
        return SourceInfo(default_task="classification", label_names=["short", "long"])

    def plan(self, max_events: int | None = None) -> list[Any]:
        return [0]

    def read(self, task: Any) -> Iterator[Any]:
        yield validate_table(table_from_events(make_events(self.offset, self.events)))


def make_events(offset: float, n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    out = []
    for e in range(n):
        nh = 40 + 20 * (e % 2)
        x, y, z = (rng.uniform(0, 300, nh) + offset for _ in range(3))
        out.append({"event_id": e, "x": x.astype(np.float32), "y": y.astype(np.float32), "z": z.astype(np.float32),
                    "t": 1.0e9 + 1e6 * e + rng.uniform(0, 5000, nh), "label": e % 2,
                    "charge": rng.normal(3000, 400, nh).astype(np.float32)})
    return out


def test_default_features_are_the_charge_standardised_on_the_hits(tmp_path):
    ds = EventDataset(build_dataset(AdcTpc(), tmp_path / "ds"))
    spec = resolve_features(None, ds.manifest)
    assert spec.needs_fit
    (_, centre, scale, _), = fit_features(spec, ds, 2000).to_list()
    q = np.concatenate([e["charge"] for e in make_events(0.0, 24)]).astype(np.float64)
    lo, hi = np.quantile(q, [0.158655, 0.841345])
    assert centre == pytest.approx(np.median(q)) and scale == pytest.approx(2 / (hi - lo))


def test_without_charge_the_default_features_are_the_positions_standardised():
    """A file with x, y, z and truth only (no charge, no default features named)."""
    manifest = {"columns": {c: {"kind": "hit", "dtype": "float32", "unit": "mm"} for c in "xyz"}}
    spec = resolve_features(None, manifest)
    assert list(spec.names) == ["x", "y", "z"] and spec.needs_fit


runner = CliRunner()


def _train(data, out, *extra):
    return runner.invoke(app, ["train", "--model", "mlp", "--data", str(data), "--out", str(out), "--task",
                               "classification", "--epochs", "1", "--batch-size", "4", "--device", "cpu",
                               "--set", "model.hidden_channels=16", "--set", "model.num_layers=2", *extra])


def test_unshifted_absolute_times_fail_with_the_setting(tmp_path):
    data = build_dataset(AdcTpc(events=8), tmp_path / "ds")
    res = _train(data, tmp_path / "run", "--set", "data.features=[t, charge]")
    assert res.exit_code == 2
    assert "feature `t` lies around 1.0" in res.output and "data.features=[[t, auto, auto]]" in res.output


@pytest.mark.slow
def test_a_detector_100_m_away_trains_like_the_same_detector_at_the_origin(tmp_path):
    losses = []
    for off in (0.0, 1e5):
        data = build_dataset(AdcTpc(offset=off), tmp_path / f"ds{off:g}")
        run = tmp_path / f"run{off:g}"
        res = _train(data, run, "--set", "data.features=[[t, auto, auto], [charge, auto, auto]]")
        assert res.exit_code == 0, res.output
        rec = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert np.isfinite(rec["train_loss"]) and np.isfinite(rec["val_loss"])
        losses.append((rec["train_loss"], rec["val_loss"]))
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


class Telescope(Source):
    """A 20 mm wide six-plane silicon telescope (planes 25 mm apart, 5 um resolution), shifted by ``offset``."""

    name = "telescope"

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def config(self) -> dict[str, Any]:
        return {"offset": self.offset}

    def info(self) -> SourceInfo:
        return SourceInfo(default_task="classification")

    def plan(self, max_events: int | None = None) -> list[Any]:
        return [0]

    def read(self, task: Any) -> Iterator[Any]:
        rng = np.random.default_rng(3)
        events = []
        for e in range(6):
            x0 = np.repeat(rng.uniform(-9, 9, 3), 6)  # three parallel tracks, six planes each
            x = (x0 + rng.normal(0, 0.005, 18) + self.offset).astype(np.float32)
            y = (np.repeat(rng.uniform(-9, 9, 3), 6) + self.offset).astype(np.float32)
            z = (np.tile(np.arange(6) * 25.0, 3) + self.offset).astype(np.float32)
            events.append({"event_id": e, "x": x, "y": y, "z": z, "charge": np.ones(18, np.float32), "label": e % 2})
        yield validate_table(table_from_events(events))


def test_voxels_come_from_the_extent_and_move_with_the_detector(tmp_path):
    from hepgraph.events.hitbatch import collate_events
    from hepgraph.represent.sparse import to_sparse
    from hepgraph.runs.build import dataset_voxel_size, model_kwargs

    coords = []
    for off in (0.0, 1e5):
        ds = EventDataset(build_dataset(Telescope(off), tmp_path / f"tel{off:g}"))
        kw = model_kwargs("sparse-resnet18", {}, ds.manifest)
        ext = np.asarray(kw["extent"])
        assert kw["voxel_size"] == pytest.approx((ext[2, 1] - ext[2, 0]) / 1024, rel=1e-2)  # ~0.12 mm, not 5
        ev = ds[0]
        pos = np.stack([ev["x"], ev["y"], ev["z"]], 1).astype(np.float64)
        want = np.unique(np.floor((pos - ext[:, 0]) / kw["voxel_size"]), axis=0)  # numpy's voxels
        st = to_sparse(collate_events([ev]), kw["voxel_size"], extent=kw["extent"])
        got = np.unique(st.coords[:, 1:].numpy(), axis=0)
        assert len(got) == len(want) == 18  # every hit its own voxel: the 5 um telescope is resolved
        coords.append(got)
    # the same voxels 100 m away, up to one voxel where float32 (8 um steps at 1e5 mm) moves a hit over an edge
    assert np.abs(coords[0] - coords[1]).max() <= 1
    assert dataset_voxel_size({"extra": {"voxel_size": 3.0}, "stats": {"hit_extent": [[0, 1e4]] * 3}}) == 3.0
    assert model_kwargs("sparse-resnet18", {"voxel_size": 7.0}, ds.manifest)["voxel_size"] == 7.0


def test_a_variants_default_voxel_does_not_beat_the_data():
    """sparse-unet registers 3 mm voxels (sized for the built-in detectors); a detector read out
    in metres (hits within +-2) would be a few voxels: the data's voxel size wins unless the user
    sets one, and without a dataset the registered default stays."""
    from hepgraph.runs.build import model_kwargs

    metres = {"stats": {"hit_extent": [[-2.8, 2.8], [-2.7, 2.9], [-2.9, 2.9]]}}
    kw = model_kwargs("sparse-unet", {}, metres)
    assert kw["voxel_size"] == pytest.approx(5.8 / 1024, rel=1e-2)
    assert kw["extent"] == [[-2.8, 2.8], [-2.7, 2.9], [-2.9, 2.9]]
    assert model_kwargs("sparse-unet", {"voxel_size": 0.5}, metres)["voxel_size"] == 0.5
    assert model_kwargs("sparse-unet", {"voxel_size": None}, metres)["voxel_size"] < 0.01
    assert model_kwargs("sparse-unet", {}, None)["voxel_size"] == 3.0
