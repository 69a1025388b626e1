"""Training throughput per model family: events/s and the data loader's share of step time.

Builds a small simulator dataset (default: sim-lartpc), then trains one model per family
for a few steps with ``hepgraph.train.run`` and reads the second epoch's record
(``events_per_s``, ``loader_fraction``) from ``metrics.jsonl``. All models run side by side
in one process, so the ratios between them are meaningful on a noisy machine.

    python benchmarks/training.py                         # CPU
    python benchmarks/training.py --device cuda --amp     # one GPU, bf16 autocast

Against another checkout (e.g. the commit before a change, from ``git worktree add``):

    python benchmarks/training.py --data DIR --val SMALL_DIR --baseline /tmp/base \
        --models sparse-resnet18,point-transformer --steps 8 --repeats 2

runs ``hepgraph.train.run`` with each model's default configuration in a fresh process
per run, alternating baseline and current code (interleaved, so load drifts hit both),
and prints each run's training events/s and the process's peak RSS.
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


def _worker(spec: dict) -> dict:
    """One training run in this process (whichever hepgraph PYTHONPATH selects)."""
    import resource

    import hepgraph.sources  # noqa: F401
    from hepgraph.train import resolve, run

    torch.set_num_threads(spec["threads"])
    flags = {"data.train": spec["data"], "model.name": spec["model"], "train.epochs": 1,
             "train.device": "cpu"}
    if spec.get("val"):
        flags["data.val"] = spec["val"]
    cfg = resolve(None, flags, [f"train.max_steps_per_epoch={spec['steps']}",
                                "train.log_every=0"])
    out = Path(tempfile.mkdtemp(prefix="hg-cmp-")) / "run"
    t0 = time.perf_counter()
    run(cfg, out)
    rec = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()][-1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"events_per_s": rec["events_per_s"], "peak_rss_mb": rss,
            "wall_s": time.perf_counter() - t0}


def _compare(args: argparse.Namespace) -> None:
    """Baseline checkout vs this one, interleaved runs in fresh processes."""
    import os
    import statistics
    import subprocess
    import sys

    here = str(Path(__file__).resolve().parents[1])
    ckouts = {"baseline": str(Path(args.baseline).resolve()), "current": here}
    res: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.repeats):
        for model in args.models.split(","):
            order = list(ckouts.items()) if r % 2 == 0 else list(ckouts.items())[::-1]
            for name, path in order:
                spec = {"data": args.data, "val": args.val, "model": model, "steps": args.steps,
                        "threads": torch.get_num_threads()}
                env = dict(os.environ, PYTHONPATH=path)
                proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                                      capture_output=True, text=True, env=env, cwd=path)
                if proc.returncode:
                    print(f"{name} {model} failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                out["load"] = os.getloadavg()[0]
                res.setdefault((model, name), []).append(out)
                print(f"{model:18s} {name:8s} {out['events_per_s']:7.2f} events/s  peak RSS "
                      f"{out['peak_rss_mb']:7.0f} MB  load {out['load']:.1f}", flush=True)
    print("\n| model | code | events/s (runs) | median | peak RSS MB (runs) |\n|---|---|---|---|---|")
    for (model, name), runs in res.items():
        eps = [x["events_per_s"] for x in runs]
        print(f"| {model} | {name} | {', '.join(f'{e:.2f}' for e in eps)} | "
              f"{statistics.median(eps):.2f} | "
              f"{', '.join(str(round(x['peak_rss_mb'])) for x in runs)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=None,
                    help="another checkout to compare with (interleaved runs; needs --data)")
    ap.add_argument("--val", default=None, help="validation dataset for --baseline runs")
    ap.add_argument("--models", default="sparse-resnet18,point-transformer")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
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
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return
    if args.baseline:
        _compare(args)
        return

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
