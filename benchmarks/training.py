"""Training throughput per model family: events/s and the data loader's share of step time.

Builds a small simulator dataset (default: sim-lartpc), then trains one model per family
for a few steps with ``hepgraph.train.run`` and reads the second epoch's record
(``events_per_s``, ``loader_fraction``) from ``metrics.jsonl``. All models run side by side
in one process, so the ratios between them are meaningful on a noisy machine.

    python benchmarks/training.py                         # CPU
    python benchmarks/training.py --device cuda --amp     # one GPU, bf16 autocast
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

FAMILIES = {
    "mlp": ("mlp", []),
    "dense": ("dense-resnet18", ["model.image_shape=[64,64]"]),
    "sparse": ("sparse-resnet18", ["model.voxel_size=20.0"]),
    "graph": ("gravnet", []),
    "transformer": ("point-transformer", []),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="sim-lartpc")
    ap.add_argument("--events", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4, help="steps per epoch (2 epochs; the 2nd is timed)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--data", default=None, help="existing dataset (skips the build)")
    ap.add_argument("--task", default=None)
    ap.add_argument("--set", dest="sets", action="append", default=[],
                    help="extra config override for every family, e.g. model.hidden_channels=32 "
                         "(repeatable): shrink a model so that its CPU step is as short as a GPU step")
    args = ap.parse_args()

    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset
    from hepgraph.train import resolve, run

    tmp = Path(tempfile.mkdtemp(prefix="hg-bench-"))
    data = Path(args.data) if args.data else tmp / "ds"
    if not args.data:
        t0 = time.perf_counter()
        src = SOURCES.get(args.source)(inputs=None, mapping=None, seed=0, params={})
        build_dataset(src, data, max_events=args.events)
        print(f"built {args.events} {args.source} events in {time.perf_counter() - t0:.1f} s")
    import hepgraph

    hits = hepgraph.open_dataset(data).manifest["stats"]["hits_per_event"]
    rows = []
    for fam in args.families.split(","):
        model, sets = FAMILIES[fam]
        flags = {"data.train": str(data), "model.name": model, "task.name": args.task,
                 "train.epochs": 2, "train.batch_size": args.batch_size, "train.device": args.device,
                 "train.amp": ("bf16" if args.amp else None), "data.workers": args.workers}
        cfg = resolve(None, flags, [f"train.max_steps_per_epoch={args.steps}", "train.log_every=0", *sets,
                                    *args.sets])
        out = tmp / f"run-{fam}"
        try:
            run(cfg, out)
        except Exception as err:  # noqa: BLE001 - report and continue with the other families
            print(f"{fam:12s} {model:20s} FAILED: {str(err).splitlines()[0][:120]}")
            continue
        rec = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()][-1]
        steady = rec.get("loader_fraction_steady", float("nan"))
        rows.append((fam, model, rec["events_per_s"], rec["loader_fraction"], steady))
        print(f"{fam:12s} {model:20s} {rec['events_per_s']:8.1f} events/s  loader {100 * rec['loader_fraction']:5.1f} %"
              f"  (without the epoch's first batch {100 * steady:5.1f} %)")
    dev = torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or platform.machine()
    n_events = hepgraph.open_dataset(data).manifest["counts"]["events"]
    print(f"\n{time.strftime('%Y-%m-%d')} | {args.source}, {n_events} events, hits/event median "
          f"{hits['median']}, batch {args.batch_size}, device {args.device} ({dev}), amp {args.amp}, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("| family | model | events/s | ms per step | loader share of step time | same, without the epoch's first batch |"
          "\n|---|---|---|---|---|---|")
    for fam, model, eps, lf, st in rows:
        print(f"| {fam} | {model} | {eps:.1f} | {1e3 * args.batch_size / eps:.1f} | {100 * lf:.1f} % | {100 * st:.1f} % |")


if __name__ == "__main__":
    main()
