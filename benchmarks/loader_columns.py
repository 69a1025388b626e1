"""What reading and shipping only the needed columns saves per loader batch.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/loader_columns.py [--data DIR | --events 2048]
        [--columns label] [--batch-size 16] [--batches 200] [--repeats 3]

For every column set (all columns; ``--columns`` + the features, what ``hepgraph train``
now loads for a classifier), alternately in one process: the worker's cost per batch
(``EventDataset.gather`` + ``pack_flat``, row-group reads included, each pass with a cold
cache), the pickled bytes and arrays a batch carries, and the consumer's cost per batch
(unpickle + wrap as tensors; where CUDA is available also pinning and the host-to-device
copy, synchronised). Batches come in the training loader's order (block shuffle), so a
row group read serves several batches as in training.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def one_pass(ds, batches, features, keep, device):
    from hepgraph.store.batching import pack_flat, unpack

    ds = ds.select(ds.columns)  # a fresh view: cold row-group cache
    t_worker = t_consumer = 0.0
    sizes, arrays = [], 0
    for b in batches:
        t0 = time.perf_counter()
        blob = pickle.dumps(pack_flat(ds.gather(b), features, keep), protocol=pickle.HIGHEST_PROTOCOL)
        t1 = time.perf_counter()
        batch = unpack(pickle.loads(blob))
        if device.type == "cuda":
            batch = batch.pin_memory().to(device, non_blocking=True)
            torch.cuda.synchronize()
        t_consumer += time.perf_counter() - t1
        t_worker += t1 - t0
        sizes.append(len(blob))
        arrays = 4 + len(batch.hit) + len(batch.event) + len(batch.particle)
    n = len(batches)
    return 1e3 * t_worker / n, 1e3 * t_consumer / n, float(np.mean(sizes)) / 1e3, arrays


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="existing dataset (default: build --events sim-lartpc events)")
    ap.add_argument("--events", type=int, default=2048)
    ap.add_argument("--columns", default="label", help="comma-separated columns a task needs")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    import hepgraph
    from hepgraph.store import make_loader
    from hepgraph.runs.build import resolve_features

    data = args.data
    if data is None:
        import hepgraph.sources  # noqa: F401
        from hepgraph.registry import SOURCES
        from hepgraph.store import build_dataset

        data = Path(tempfile.mkdtemp(prefix="hg-cols-")) / "ds"
        build_dataset(SOURCES.get("sim-lartpc")(inputs=None, mapping=None, seed=0, params={}), data,
                      max_events=args.events)
    full = hepgraph.open_dataset(data).split("train")
    features = resolve_features(None, full.manifest)
    need = [c for c in args.columns.split(",") if c]
    sets = {"all columns": (full, None),
            f"{'+'.join(need)} + features": (full.select([*need, *features.names]), need)}
    # The training loader's own batch order (block shuffle, 1 worker's share of row groups).
    order = make_loader(full, args.batch_size, shuffle=True, num_workers=1, seed=0).sampler
    batches = [np.asarray(b) for b, _ in zip(order, range(args.batches))]
    device = torch.device(args.device)
    res: dict[str, list[tuple[float, float, float, int]]] = {k: [] for k in sets}
    for _ in range(args.repeats):
        for name, (ds, keep) in sets.items():
            res[name].append(one_pass(ds, batches, features, keep, device))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, {os.cpu_count()} CPUs, "
          f"device {device}{' (' + torch.cuda.get_device_name() + ')' if device.type == 'cuda' else ''}; "
          f"{len(full)} events of {data}, batch {args.batch_size}, {args.batches} batches x {args.repeats} "
          "alternating passes; median (min-max) ms per batch")
    print("| columns | worker ms | consumer ms | KB pickled | arrays |")
    print("|---|---|---|---|---|")
    for name, rows in res.items():
        cell = [f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for v in zip(*[r[:2] for r in rows])]
        print(f"| {name} | {cell[0]} | {cell[1]} | {rows[0][2]:.0f} | {rows[0][3]} |")


if __name__ == "__main__":
    main()
