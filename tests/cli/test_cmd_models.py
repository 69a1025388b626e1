from __future__ import annotations

import json

from typer.testing import CliRunner

from hepgraph.cli.main import app


def test_models_json_lists_every_model_with_counts():
    res = CliRunner().invoke(app, ["models", "sparse-*", "--json", "--in-channels", "2"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    names = [r["name"] for r in rows]
    assert names == ["sparse-resnet18", "sparse-resnet34", "sparse-resnet50", "sparse-unet"]
    r18 = rows[0]
    assert r18["family"] == "sparse" and r18["representation"] == "sparse"
    assert "segmentation" in r18["tasks"] and "classification" in r18["tasks"]
    # count against a real (non-meta) build of the same model
    from hepgraph.models import create_model

    m = create_model("sparse-resnet18", in_channels=2, level="event", out_channels=2)
    assert r18["parameters"] == sum(p.numel() for p in m.parameters())


def test_models_table_and_unmatched_pattern():
    res = CliRunner().invoke(app, ["models", "gat*"])
    assert res.exit_code == 0 and "gatv2" in res.output and "edge" in res.output


def test_models_name_prints_a_summary():
    import json

    from typer.testing import CliRunner

    from hepgraph.cli.main import app

    r = CliRunner().invoke(app, ["models", "mlp", "--hits", "50", "--level", "hit", "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["input"] == {"events": 2, "hits": 100, "in_channels": 1} and s["output_shape"] == [100, 2]
    assert s["parameters"] > 0 and s["layers"][0]["name"]
    r = CliRunner().invoke(app, ["models", "mlp", "--hits", "50"])
    assert r.exit_code == 0 and "output shape" in r.output and "activations:" in r.output
    r = CliRunner().invoke(app, ["models", "mlp", "--level", "edge"])
    assert r.exit_code == 2 and "event, hit" in r.output
