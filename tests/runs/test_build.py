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
