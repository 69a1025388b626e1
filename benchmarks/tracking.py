"""Track-finding benchmark: efficiency, fake rate, TrackML score and time per event.

1. sim-drift-chamber, 10 tracks per event, ~10% noise hits (noise_rate 0.0065): every
   classic method (dbscan, hdbscan, hough) and, with --gnn-run / --oc-run, the learned ones.
2. The shared TrackML event (ingested with the store's ``trackml`` source): TrackML score.
3. Time per event on ~1k-hit drift-chamber events (22 tracks + noise), all methods side by side.

Usage:
    PYTHONPATH=. python benchmarks/tracking.py --work /tmp/hg-bench [--events 100]
        [--gnn-run RUN] [--oc-run RUN] [--trackml /work/shared/data/trackml-event1]
Prints a markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import hepgraph
import hepgraph.cluster  # noqa: F401
import hepgraph.sources  # noqa: F401
from hepgraph.cluster.learned import build_clusterer
from hepgraph.cluster.run import cluster_dataset
from hepgraph.registry import SOURCES
from hepgraph.store import build_dataset

KEYS = ("efficiency", "fake_rate", "duplicate_rate", "purity", "trackml_score", "ari")


def drift_chamber(out: Path, events: int, tracks: int, seed: int) -> Path:
    if (out / "manifest.json").is_file():
        return out
    params = {"events": events, "noise_rate": 0.0065, "tracks": {"mode": "fixed", "mean": tracks}}
    src = SOURCES.get("sim-drift-chamber")(inputs=None, mapping=None, seed=seed, params=params)
    return build_dataset(src, out, overwrite=True)


def methods(args: argparse.Namespace) -> list[tuple[str, dict, Path | None]]:
    out: list[tuple[str, dict, Path | None]] = [("dbscan", {}, None), ("hdbscan", {}, None), ("hough", {}, None)]
    if args.gnn_run:
        out += [("gnn", {}, args.gnn_run), ("gnn", {"walk": True}, args.gnn_run)]
    if args.oc_run:
        out.append(("condensation", {}, args.oc_run))
    return out


def row(name: str, opts: dict, m: dict) -> str:
    label = name + (" " + " ".join(f"{k}={v}" for k, v in opts.items()) if opts else "")
    vals = " | ".join(f"{m[k]:.3f}" for k in KEYS)
    return f"| {label} | {vals} | {1e3 * m['seconds_per_event']:.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gnn-run", type=Path)
    ap.add_argument("--oc-run", type=Path)
    ap.add_argument("--trackml", type=Path, default=Path("/work/shared/data/trackml-event1"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    head = "| method | " + " | ".join(KEYS) + " | ms/event |\n|---" * 1 + "|---" * (len(KEYS) + 1) + "|"
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, numpy {np.__version__}\n")

    dc = hepgraph.open_dataset(drift_chamber(args.work / "dc10", args.events, 10, args.seed))
    t = np.concatenate([dc[i]["track_id"] for i in range(len(dc))])
    print(f"### sim-drift-chamber, 10 tracks/event, {len(dc)} events, {len(t) / len(dc):.0f} hits/event, "
          f"noise {100 * (t == -1).mean():.1f}%\n")
    print(head)
    for name, opts, run in methods(args):
        c = build_clusterer(name, opts, run=run, manifest=dc.manifest)
        print(row(name, opts, cluster_dataset(dc, c).metrics), flush=True)

    if (args.trackml / "event000000001-hits.csv.gz").is_file():
        src = SOURCES.get("trackml")(inputs=[str(args.trackml)], mapping=None, seed=0, params={})
        tml = args.work / "trackml"
        if not (tml / "manifest.json").is_file():
            build_dataset(src, tml, overwrite=True)
        ds = hepgraph.open_dataset(tml)
        print(f"\n### TrackML event 1 ({len(ds[0]['x'])} hits; truth weights)\n")
        print(head)
        for name, opts in (("dbscan", {}), ("dbscan", {"space": "direction", "eps": 0.006}), ("hough", {})):
            c = build_clusterer(name, opts, manifest=ds.manifest)
            print(row(name, opts, cluster_dataset(ds, c).metrics), flush=True)

    big = hepgraph.open_dataset(drift_chamber(args.work / "dc22", 20, 22, args.seed + 1))
    nh = np.mean([len(big[i]["x"]) for i in range(len(big))])
    print(f"\n### time per event, sim-drift-chamber with 22 tracks ({nh:.0f} hits/event, 20 events, 1 CPU thread share)\n")
    print("| method | ms/event | ms per 1k hits |\n|---|---|---|")
    for name, opts, run in methods(args):
        c = build_clusterer(name, opts, run=run, manifest=big.manifest)
        cluster_dataset(big, c, max_events=2)  # warm-up
        m = cluster_dataset(big, c).metrics
        ms = 1e3 * m["seconds_per_event"]
        label = name + (" " + " ".join(f"{k}={v}" for k, v in opts.items()) if opts else "")
        print(f"| {label} | {ms:.1f} | {ms * 1000 / nh:.1f} |", flush=True)


if __name__ == "__main__":
    main()
