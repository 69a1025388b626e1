from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from hg_train_toy import register  # noqa: E402

register()  # in-process; subprocesses load it as a plugin (hg_train_toy.write_plugin_dist)
TOY_MODEL = "toy-model"


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hg_train_toy import build_toy

    return build_toy(tmp_path_factory.mktemp("toy") / "ds", n_events=64)
