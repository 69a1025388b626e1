"""Ingestion and loader throughput, and peak memory of a full pass, over 10k and 100k events.

    PYTHONPATH=. python benchmarks/ingest_loader.py [--sizes 10000 100000] [--append]

For each size: build a dataset of small events (~100 hits, the deterministic toy source of
tests/store/synth.py) and time the build (hits/s); then, each in a fresh process, make one
full shuffled pass with ``make_loader`` (0, 1 and 2 workers, batch 64) and record events/s
and the peak RSS of the main process and of the largest worker. ``--append`` adds the
table to docs/benchmarks.md under "## Ingestion and loader".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "store"))


def build(n: int, out: Path, mean_hits: int) -> dict:
    from synth import ToySource

    from hepgraph.store.writer import build_dataset

    src = ToySource(n_events=n, per_task=10_000, mean_hits=mean_hits, chunk=1000)
    t0 = time.perf_counter()
    gen_hits = sum(t.column("x").combine_chunks().values.__len__() for task in src.plan() for t in src.read(task))
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_dataset(src, out)
    t_build = time.perf_counter() - t0
    m = json.loads((out / "_manifest.json").read_text())
    assert m["counts"]["hits"] == gen_hits
    return {"events": n, "hits": gen_hits, "gen_s": t_gen, "build_s": t_build}


def child(path: str, workers: int, batch: int) -> None:
    """One full pass in this (fresh) process; prints a JSON line."""
    import hepgraph
    from hepgraph.store.loader import make_loader

    ds = hepgraph.open_dataset(path)
    loader = make_loader(ds, batch, shuffle=True, num_workers=workers, seed=1)
    t0, c0 = time.perf_counter(), time.process_time()
    n = hits = 0
    for b in loader:
        n += b.batch_size
        hits += b.num_hits
    dt, cpu_main = time.perf_counter() - t0, time.process_time() - c0
    assert n == len(ds)
    del loader  # stop persistent workers so their peak RSS is in RUSAGE_CHILDREN
    import gc

    gc.collect()
    time.sleep(0.5)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "events": n, "hits": hits, "seconds": dt, "cpu_main_s": cpu_main,
        "cpu_workers_s": ch.ru_utime + ch.ru_stime,
        "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--mean-hits", type=int, default=100)
    ap.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    ap.add_argument("--child", nargs=3, metavar=("PATH", "WORKERS", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    tmp = Path(tempfile.mkdtemp(prefix="hepgraph-bench-"))
    rows, loads = [], []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    try:
        for n in args.sizes:
            out = tmp / f"ds{n}"
            loads.append(os.getloadavg()[0])
            b = build(n, out, args.mean_hits)
            size = sum(f.stat().st_size for f in out.iterdir())
            for w in args.workers:
                loads.append(os.getloadavg()[0])
                res = subprocess.run([sys.executable, __file__, "--child", str(out), str(w), str(args.batch_size)],
                                     env=env, capture_output=True, text=True, check=True)
                r = json.loads(res.stdout.strip().splitlines()[-1])
                rows.append({"n": n, "w": w, **r, **{f"b_{k}": v for k, v in b.items()}, "size_mb": size / 2**20})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(rows, args, loads)
    print(text)
    if args.append:
        append(text)


def report(rows: list[dict], args: argparse.Namespace, loads: list[float]) -> str:
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}); "
        f"1-min load average during the run {min(loads):.1f}-{max(loads):.1f} (shared machine: absolute rates are noisy). "
        f"Command: `PYTHONPATH=. python benchmarks/ingest_loader.py --sizes {' '.join(map(str, args.sizes))}`. "
        f"Events ~{args.mean_hits} hits (toy source), batch {args.batch_size}, block shuffle.",
        "",
        "Loader rates are given per wall second and per CPU second of the process doing the "
        "reading (the main process for 0 workers, the workers together otherwise); on a machine "
        "shared with other jobs the CPU-second rate is the one that measures the code.",
        "",
        "| events | ingest hits/s (generate+validate+write) | generate only hits/s | loader workers | "
        "loader events/s (wall) | events per worker CPU-s | main CPU-s per 1k events | peak RSS main MB | "
        "peak RSS worker MB | size on disk MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reader_cpu = r["cpu_main_s"] if r["w"] == 0 else r["cpu_workers_s"]
        per_cpu = r["events"] / reader_cpu * max(r["w"], 1) / max(r["w"], 1)
        lines.append(
            f"| {r['n']:,} | {r['b_hits'] / r['b_build_s']:,.0f} | {r['b_hits'] / r['b_gen_s']:,.0f} | {r['w']} | "
            f"{r['events'] / r['seconds']:,.0f} | {per_cpu:,.0f} | {1000 * r['cpu_main_s'] / r['events']:.3f} | "
            f"{r['rss_main_mb']:.0f} | {r['rss_worker_mb']:.0f} | {r['size_mb']:.1f} |"
        )
    by = {(r["n"], r["w"]): r for r in rows}
    if len(args.sizes) >= 2:
        small, big = min(args.sizes), max(args.sizes)
        for w in args.workers:
            if (small, w) in by and (big, w) in by:
                key = "rss_main_mb" if w == 0 else "rss_worker_mb"
                ratio = by[(big, w)][key] / by[(small, w)][key]
                lines.append(f"\nPeak RSS ratio {big:,} / {small:,} events, {w} worker(s) "
                             f"({'main' if w == 0 else 'worker'} process): {ratio:.2f} (target <= 1.2)")
    return "\n".join(lines) + "\n"


def append(text: str) -> None:
    doc = REPO / "docs" / "benchmarks.md"
    doc.parent.mkdir(exist_ok=True)
    old = doc.read_text() if doc.exists() else "# Benchmarks\n"
    head = "## Ingestion and loader"
    if head in old:
        pre, _, post = old.partition(head)
        rest = post.split("\n## ", 1)
        tail = ("\n## " + rest[1]) if len(rest) > 1 else ""
        body = rest[0].rstrip() + "\n\n" + text
        doc.write_text(pre + head + body + tail)
    else:
        doc.write_text(old.rstrip() + "\n\n" + head + "\n\n" + text)


if __name__ == "__main__":
    main()
