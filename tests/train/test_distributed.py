from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch.multiprocessing as mp

from hepgraph.train.distributed import ShardedSampler

from .conftest import TOY_MODEL


def test_sharded_sampler_partitions_and_pads():
    a = list(ShardedSampler(10, 0, 3, seed=4))
    b = list(ShardedSampler(10, 1, 3, seed=4))
    c = list(ShardedSampler(10, 2, 3, seed=4))
    assert len(a) == len(b) == len(c) == 4
    assert set(a) | set(b) | set(c) == set(range(10))
    assert list(ShardedSampler(10, 0, 3, seed=4)) == a  # deterministic
    assert list(ShardedSampler(10, 0, 3, seed=5)) != a
    ev = [list(ShardedSampler(10, r, 3, shuffle=False, pad=False)) for r in range(3)]
    assert sorted(sum(ev, [])) == list(range(10))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch

    torch.set_num_threads(1)
    from hepgraph.train import resolve, run

    cfg = resolve(None, {"data.train": data, "model.name": TOY_MODEL, "task.name": "classification",
                         "train.epochs": 2, "train.batch_size": 4, "train.device": "cpu"}, [])
    run(cfg, out)


@pytest.mark.slow
def test_ddp_two_gloo_processes(toy_data, tmp_path):
    out = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(toy_data), str(out)), nprocs=2, join=True)
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2]  # only rank 0 wrote
    import hepgraph

    n_train = len(hepgraph.open_dataset(toy_data).split("train"))
    assert recs[0]["train_events"] == 2 * -(-n_train // 2)  # reduced over both ranks (padded)
    # val loss reduced over ranks == single-process evaluation of the final weights
    from hepgraph.runs.evaluate import evaluate

    m = evaluate(out / "checkpoints" / "last.pt", toy_data, tmp_path / "rep", split="val", plots=False)
    assert m["loss"] == pytest.approx(recs[-1]["val_loss"], rel=1e-5)
    assert m["accuracy"] == pytest.approx(recs[-1]["val_accuracy"])
    assert np.isfinite(recs[-1]["train_loss"])
