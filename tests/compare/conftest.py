from __future__ import annotations

import sys
from pathlib import Path

import pytest

TRAIN_TESTS = Path(__file__).resolve().parents[1] / "train"
if str(TRAIN_TESTS) not in sys.path:
    sys.path.insert(0, str(TRAIN_TESTS))

#: Two tiny models of different families, sized to train in about a second.
TINY = {"mlp": ["model.hidden_channels=16", "model.num_layers=2", "model.hit_channels=8"],
        "edgeconv": ["model.hidden_channels=8", "model.num_layers=1", "model.k=4", "model.emb_channels=16",
                     "model.head_hidden=16"]}


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hg_train_toy import build_toy

    return build_toy(tmp_path_factory.mktemp("toy") / "ds", n_events=48)


@pytest.fixture(scope="session")
def compared(toy_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from hepgraph.compare import compare_models, write_comparison

    out = tmp_path_factory.mktemp("cmp")
    res = compare_models(toy_data, list(TINY), out, model_overrides=TINY, epochs=2, seed=3, device="cpu",
                         batch_size=8, target=0.0)
    write_comparison(res, out)
    return res, out
