from __future__ import annotations

import json
import re

import pytest


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path):
    """``hepgraph demo --quick``: report, figures and the terminal summary hold the JSON numbers."""
    from typer.testing import CliRunner

    from hepgraph.cli.main import app
    from hepgraph.compare.report import fmt

    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = out / "report.md"
    assert str(report) in r.output.replace("\n", "")
    md = report.read_text()
    demo = json.loads((out / "demo.json").read_text())
    cmp_ = json.loads((out / "pid" / "comparison.json").read_text())
    assert [m["model"] for m in cmp_["models"]] == ["dense-resnet18", "sparse-resnet18"]
    for row in cmp_["summary"]:
        assert f"| {row['model']} | {fmt(row['test_value'])} |" in md
    for method, m in demo["tracking"].items():
        assert method in ("gnn", "dbscan")
        assert f"| {method} | {fmt(m['efficiency'])} | {fmt(m['fake_rate'])} |" in md
        assert 0.0 <= m["efficiency"] <= 1.0
    # every figure the report links exists and is a real PNG
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert any("display_chamber_gnn" in p for p in links) and any("display_lartpc" in p for p in links)
    for p in links:
        data = (out / p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, p
