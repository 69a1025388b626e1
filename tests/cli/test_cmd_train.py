"""``hepgraph train`` with inputs a new user gets wrong: one line, exit 2, no run directory."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hepgraph.cli.main import app


@pytest.fixture(scope="module")
def sim_ds(tmp_path_factory):
    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store.writer import build_dataset

    out = tmp_path_factory.mktemp("sim") / "ds"
    return build_dataset(SOURCES.get("sim-drift-chamber")(inputs=None, mapping=None, seed=0, params={}), out,
                         max_events=6)


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    text = res.output.strip()
    assert len(text.splitlines()) == 1 and text.startswith("error:") and "Traceback" not in text, text
    for n in needles:
        assert n in text, text


@pytest.mark.parametrize("value, needle", [
    ("xyz", "the feature spec `xyz` must be a list of columns"),
    ("[[x", "the feature spec `[[x` must be a list"),
    ("[{column: x, foo: 1}]", "unknown key `foo`"),
])
def test_malformed_features_override(sim_ds, tmp_path, value, needle):
    res = CliRunner().invoke(app, ["train", "--data", str(sim_ds), "--model", "gravnet", "--device", "cpu",
                                   "--epochs", "1", "--set", f"data.features={value}", "--out", str(tmp_path / "run")])
    one_line_error(res, needle)
    assert not (tmp_path / "run").exists()
