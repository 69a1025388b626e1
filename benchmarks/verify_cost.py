"""What checking shards against their SHA-256 costs an epoch (issue 17: at most 5 %).

    PYTHONPATH=. python benchmarks/verify_cost.py [--data DIR | --source sim-lartpc --events 1000]
        [--repeats 3] [--model mlp]

Interleaved in one process, per repeat: (a) the SHA-256 of every shard, as a process pays it
the first time it reads the dataset; (b) one loader epoch over the training split (read +
pack, no model: the cheapest epoch there is, so the worst ratio); (c) one training epoch of
``--model`` through ``hepgraph.train``. Prints medians and ranges, the ratios hash/epoch and
the load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def hash_all(ds_dir: Path) -> float:
    from hepgraph.store.manifest import read_manifest, sha256_file

    t0 = time.perf_counter()
    for s in read_manifest(ds_dir)["shards"]:
        sha256_file(ds_dir / s["path"])
    return time.perf_counter() - t0


def loader_epoch(ds_dir: Path, batch_size: int) -> float:
    from hepgraph import open_dataset
    from hepgraph.store import make_loader

    ds = open_dataset(ds_dir).split("train")
    t0 = time.perf_counter()
    for _ in make_loader(ds, batch_size, shuffle=True):
        pass
    return time.perf_counter() - t0


def train_epoch(ds_dir: Path, model: str, out: Path, batch_size: int) -> float:
    from hepgraph.train import resolve, run

    cfg = resolve(None, {"data.train": str(ds_dir), "model.name": model, "train.epochs": 1,
                         "train.batch_size": batch_size, "train.device": "cpu"}, [])
    t0 = time.perf_counter()
    run(cfg, out, overwrite=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--source", default="sim-lartpc")
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hg-verify-"))
    data = args.data
    if data is None:
        import hepgraph.sources  # noqa: F401
        from hepgraph.registry import SOURCES
        from hepgraph.store.writer import build_dataset

        data = build_dataset(SOURCES.get(args.source)(), work / "ds", max_events=args.events)
    size = sum(p.stat().st_size for p in Path(data).glob("*.parquet"))
    t = {"hash": [], "loader": [], "train": []}
    for _ in range(args.repeats):
        t["hash"].append(hash_all(Path(data)))
        t["loader"].append(loader_epoch(Path(data), args.batch_size))
        t["train"].append(train_epoch(Path(data), args.model, work / "run", args.batch_size))
    med = {k: statistics.median(v) for k, v in t.items()}
    print(f"{platform.node()} {os.cpu_count()} cpus, load {os.getloadavg()}, data {data} "
          f"({size / 2**20:.1f} MiB in shards)")
    for k, v in t.items():
        print(f"{k:7s} median {med[k]:.3f} s  range {min(v):.3f}-{max(v):.3f} s")
    print(f"hash / loader epoch {med['hash'] / med['loader']:.3%}   "
          f"hash / {args.model} training epoch {med['hash'] / med['train']:.3%}")


if __name__ == "__main__":
    main()
