"""Track-finding benchmark: efficiency, fake rate, TrackML score and time per event.

Issue 18 goals (``--goals-data DS``): on a test dataset of a detector (e.g. sim-forward-planes,
sim-silicon-barrel), every classical method with its defaults and with settings from
``--config`` files (``hepgraph cluster --tune``), and the ``tracking-gnn`` run (``--gnn-run``,
its RUN/cluster.yaml settings), side by side; tracks and particles with >= 3 hits.

    PYTHONPATH=. python benchmarks/tracking.py --goals-data /tmp/fwd_test --gnn-run RUN \
        --config hough.yaml --config dbscan.yaml [--events 100]

Drift chamber (default):

1. sim-drift-chamber, 10 tracks per event, ~10% noise hits (noise_rate 0.0065): every
   classic method (dbscan, hdbscan, hough) and, with --gnn-run / --oc-run, the learned ones.
2. A TrackML event directory given with --trackml (ingested with the store's ``trackml`` source): TrackML score.
3. Time per event on ~1k-hit drift-chamber events (22 tracks + noise), all methods side by side.

Usage:
    PYTHONPATH=. python benchmarks/tracking.py --work /tmp/hg-bench [--events 100]
        [--gnn-run RUN] [--oc-run RUN] [--trackml DIR]
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
    if (out / "_manifest.json").is_file():
        return out
    params = {"events": events, "noise_rate": 0.0065, "tracks": {"mode": "fixed", "mean": tracks}}
    src = SOURCES.get("sim-drift-chamber")(inputs=None, mapping=None, seed=seed, params=params)
    return build_dataset(src, out, overwrite=True)


def methods(args: argparse.Namespace) -> list[tuple[str, dict, Path | None]]:
    out: list[tuple[str, dict, Path | None]] = [("dbscan", {}, None), ("hdbscan", {}, None), ("hough", {}, None)]
    if args.gnn_run:
        g = {"threshold": args.gnn_threshold, "min_hits": 6}
        chain = {"mode": "chain", "threshold": args.chain_threshold, "min_hits": 6}
        out += [("gnn", g, args.gnn_run), ("gnn", chain, args.gnn_run)]
    if args.oc_run:
        out.append(("condensation", {}, args.oc_run))
    return out


def row(name: str, opts: dict, m: dict) -> str:
    label = name + (" " + " ".join(f"{k}={v}" for k, v in opts.items()) if opts else "")
    vals = " | ".join(f"{m[k]:.3f}" for k in KEYS)
    return f"| {label} | {vals} | {1e3 * m['seconds_per_event']:.1f} |"


def edge_report(ds, run: Path) -> str:
    """Edge efficiency / purity of the run's graph construction and edge classifier."""
    from hepgraph.cluster.learned import load_run, run_model
    from hepgraph.metrics.edges import edge_classification_metrics, graph_construction_metrics

    model, feats, _ = load_run(run)
    es, ss, ts, evs, off = [], [], [], [], 0
    for i in range(len(ds)):
        ev = ds[i]
        out = run_model(model, ev, feats)
        es.append(out["edge_index"] + off)
        ss.append(1 / (1 + np.exp(-out["out"].reshape(-1))))
        ts.append(ev["track_id"])
        evs.append(np.full(len(ev["x"]), i))
        off += len(ev["x"])
    e, s, t = np.concatenate(es, 1), np.concatenate(ss), np.concatenate(ts)
    g = graph_construction_metrics(e, t, np.concatenate([ds[i]["layer"] for i in range(len(ds))]),
                                   np.concatenate(evs))
    c = edge_classification_metrics(e, s, t, threshold=0.5)
    return (f"edges ({run.name}): graph construction efficiency {g['edge_efficiency']:.4f}, purity "
            f"{g['edge_purity']:.4f} ({g['n_edges'] / len(ds):.0f} edges/event); edge classifier at 0.5: "
            f"efficiency {c['edge_efficiency']:.4f}, purity {c['edge_purity']:.4f}")


def gnn_breakdown(ds, run: Path, threshold: float) -> str:
    """Time per event of each step of the gnn chain (collate, graph, network, chain + components)."""
    import torch

    from hepgraph.cluster.graph import GNNClusterer
    from hepgraph.cluster.learned import load_run
    from hepgraph.events import collate_events
    from hepgraph.represent.graph import build_edges

    model, feats, _ = load_run(run)
    c = GNNClusterer(mode="chain", threshold=threshold, min_hits=6)
    tot = np.zeros(4)
    for rep in range(2):  # first pass warms up
        for i in range(len(ds)):
            ev = ds[i]
            t0 = time.perf_counter()
            b = collate_events([ev], feats)
            t1 = time.perf_counter()
            b.edge_index = build_edges(b, model.graph, **model.graph_kwargs)
            t2 = time.perf_counter()
            with torch.no_grad():
                out = model(b)
            t3 = time.perf_counter()
            c.cluster(ev, edge_index=out["edge_index"].numpy(), scores=torch.sigmoid(out["out"]).numpy().reshape(-1))
            t4 = time.perf_counter()
            if rep:
                tot += [t1 - t0, t2 - t1, t3 - t2, t4 - t3]
    ms = 1e3 * tot / len(ds)
    return (f"gnn chain per event: collate {ms[0]:.1f} ms, graph ({model.graph}) {ms[1]:.1f} ms, "
            f"network {ms[2]:.1f} ms, threshold + chain + components {ms[3]:.1f} ms; "
            f"graph + network + components {ms[1] + ms[2] + ms[3]:.1f} ms")


def goals(args: argparse.Namespace) -> None:
    """The issue-18 table for one test dataset (see the module docstring)."""
    import yaml

    from hepgraph.cluster.tune import read_settings

    ds = hepgraph.open_dataset(args.goals_data)
    n = min(len(ds), args.events)
    evs = [ds[i] for i in range(n)]
    t = np.concatenate([e["track_id"] for e in evs])
    nh = np.concatenate([e["particle_nhits"] for e in evs]) if "particle_nhits" in evs[0] else np.zeros(0)
    src = ds.manifest["source"]["name"]
    print(f"### {src}: {n} test events, {len(t) / n:.0f} hits/event, {(nh >= 3).sum() / n:.0f} particles "
          f"with >= 3 hits/event, noise {100 * (t == -1).mean():.1f}%, field "
          f"{ds.manifest['extra'].get('field_T')} T\n")
    rows: list[tuple[str, str, dict, Path | None]] = [("hough", "defaults", {}, None), ("dbscan", "defaults", {}, None)]
    for cfg in args.config or []:
        method, opts = read_settings(cfg)
        rows.append((method, f"--tune ({Path(cfg).name})", opts, None))
    if args.gnn_run:
        rows.append(("gnn", "tracking-gnn run (RUN/cluster.yaml)", {}, args.gnn_run))
    print("| method | settings | " + " | ".join(KEYS) + " | ms/event |\n|---|---" + "|---" * (len(KEYS) + 1) + "|")
    for name, label, opts, run in rows:
        c = build_clusterer(name, opts, run=run, manifest=ds.manifest)
        cluster_dataset(evs, c, max_events=1)  # warm-up
        m = cluster_dataset(evs, c).metrics
        vals = " | ".join(f"{m[k]:.4f}" for k in KEYS)
        print(f"| {name} | {label} | {vals} | {1e3 * m['seconds_per_event']:.1f} |", flush=True)
        if run is not None:
            print(f"\n{name} clusterer: {c!r}")
    if args.gnn_run and (args.gnn_run / "cluster.yaml").is_file():
        doc = yaml.safe_load((args.gnn_run / "cluster.yaml").read_text())
        g = doc.get("graph", {})
        print("\ngraph construction of the run (held-out events): "
              + ", ".join(f"{k} {v:.4g}" for k, v in g.items() if isinstance(v, (int, float))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals-data", type=Path, help="issue-18 table for this test dataset (see docstring)")
    ap.add_argument("--config", type=Path, action="append", help="tuned settings YAML (repeatable)")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--seed", type=int, default=101, help="test-set seed (train sets use other seeds)")
    ap.add_argument("--gnn-run", type=Path)
    ap.add_argument("--gnn-threshold", type=float, default=0.5, help="components; chosen on a val set")
    ap.add_argument("--chain-threshold", type=float, default=0.1, help="mode=chain; chosen on a val set")
    ap.add_argument("--oc-run", type=Path)
    ap.add_argument("--trackml", type=Path, default=None, help="a TrackML event directory (optional)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # the machine is shared; one thread gives comparable timings
    if args.goals_data is not None:
        goals(args)
        return
    if args.work is None:
        ap.error("give --work DIR (drift-chamber tables) or --goals-data DS")
    args.work.mkdir(parents=True, exist_ok=True)

    head = "| method | " + " | ".join(KEYS) + " | ms/event |\n|---" * 1 + "|---" * (len(KEYS) + 1) + "|"
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, numpy {np.__version__}\n")

    dc = hepgraph.open_dataset(drift_chamber(args.work / "dc10", args.events, 10, args.seed))
    t = np.concatenate([dc[i]["track_id"] for i in range(len(dc))])
    print(f"### sim-drift-chamber, 10 tracks/event, {len(dc)} events, {len(t) / len(dc):.0f} hits/event, "
          f"noise {100 * (t == -1).mean():.1f}%\n")
    print(head)
    reso = {}
    for name, opts, run in methods(args):
        c = build_clusterer(name, opts, run=run, manifest=dc.manifest)
        res = cluster_dataset(dc, c)
        reso.setdefault(name, res.resolution)
        print(row(name, opts, res.metrics), flush=True)
    r = reso["hough"]
    print("\nTaubin fit of hough tracks matched to a particle (double majority), B = 1 T:\n")
    print("| p_T bin [GeV] | tracks | bias (median) | σ(p_T)/p_T |\n|---|---|---|---|")
    for lo, hi, n, b, sg in zip(r["edges"][:-1], r["edges"][1:], r["count"], r["bias"], r["sigma"]):
        if n:
            print(f"| {lo:g}–{hi:g} | {int(n)} | {b:+.4f} | {sg:.4f} |")

    if args.gnn_run:
        print("\n" + edge_report(dc, args.gnn_run))

    if args.trackml is not None and (args.trackml / "event000000001-hits.csv.gz").is_file():
        src = SOURCES.get("trackml")(inputs=[str(args.trackml)], mapping=None, seed=0, params={})
        tml = args.work / "trackml"
        if not (tml / "_manifest.json").is_file():
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
    if args.gnn_run:
        print("\n" + gnn_breakdown(big, args.gnn_run, args.chain_threshold))


if __name__ == "__main__":
    main()
