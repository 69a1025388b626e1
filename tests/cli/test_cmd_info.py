from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))
from synth import ToySource  # noqa: E402

from hepgraph.cli.main import app  # noqa: E402
from hepgraph.store.writer import build_dataset  # noqa: E402

runner = CliRunner()


def test_info_json_and_table(tmp_path):
    src = ToySource(n_events=40, per_task=20)
    out = build_dataset(src, tmp_path / "ds")
    res = runner.invoke(app, ["info", str(out), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    hits = sorted(len(src.event(e)["x"]) for e in range(40))
    assert info["events"] == 40 and info["hits"] == sum(hits)
    assert info["hits_per_event"]["min"] == hits[0] and info["hits_per_event"]["max"] == hits[-1]
    assert info["columns"]["charge"]["unit"] == "MeV"
    labels = [src.event(e)["label"] for e in range(40)]
    got = {r["name"]: r["count"] for r in info["labels"]["label"]}
    assert got == {n: labels.count(i) for i, n in enumerate("abc") if labels.count(i)}
    assert info["size_bytes"] == sum(p.stat().st_size for p in out.iterdir())
    res = runner.invoke(app, ["info", str(out)])
    assert res.exit_code == 0 and "charge" in res.output and "MeV" in res.output


def test_info_not_a_dataset(tmp_path):
    res = runner.invoke(app, ["info", str(tmp_path)])
    assert res.exit_code == 2 and "not a hepgraph dataset" in res.output
