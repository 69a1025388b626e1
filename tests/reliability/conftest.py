from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.train.conftest import TOY_MODEL, toy_data  # noqa: F401  (shared toy fixtures)


@pytest.fixture(scope="session")
def toy_run(toy_data, tmp_path_factory):  # noqa: F811
    """A trained toy run (1 epoch, classification)."""
    from hepgraph.cli.main import app

    out = tmp_path_factory.mktemp("runs") / "run"
    res = CliRunner().invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(out),
                                   "--task", "classification", "--epochs", "1", "--batch-size", "16",
                                   "--device", "cpu"])
    assert res.exit_code == 0, res.output
    return out
