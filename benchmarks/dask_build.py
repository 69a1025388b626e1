"""Dataset building on Dask: events/s for 1 and 2 local workers, and peak memory per worker.

Inputs: ROOT files written here by uproot (jagged TTree, ~``--hits`` hits per event) at two
input sizes (``--files`` and 4x as many files, same chunk ``step_size``), and ``sim-lartpc``.
For each LocalCluster size (1 and 2 worker processes) the cluster is started once and warmed
up (imports), then each build is timed from ``build_dataset`` call to return (planning,
tasks, manifest, rename). The single-process local build is timed alongside for the ratio.

Peak memory per worker: each worker's peak RSS (Linux ``VmHWM``) is reset through
``/proc/self/clear_refs`` before a build and read after it, so it is the peak of that
build alone (workers are restarted and warmed up before each case); ``idle`` is the RSS of
the warmed-up worker before the build. ``CPU s / 1k events`` sums user+system CPU of the
client and of every worker process over the build: on a shared, loaded machine it shows
the Dask overhead better than wall time.

    PYTHONPATH=. python benchmarks/dask_build.py --events-per-file 4000 --files 2
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def write_root(d: Path, n_files: int, n_events: int, hits: int, seed: int = 0) -> list[str]:
    import awkward as ak
    import uproot

    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for f in range(n_files):
        counts = rng.poisson(hits, n_events)
        n = int(counts.sum())
        data = {
            "evt": np.arange(n_events, dtype=np.int64),
            "label": rng.integers(0, 3, n_events).astype(np.int32),
            **{f"hit_{c}": ak.unflatten(rng.normal(0, 50, n).astype(np.float32), counts)
               for c in "xyz"},
            "hit_e": ak.unflatten(rng.exponential(1e-3, n).astype(np.float32), counts),
            "hit_trk": ak.unflatten(rng.integers(-1, 10, n).astype(np.int64), counts),
        }
        types = {k: str(ak.type(v).content) if isinstance(v, ak.Array) else v.dtype
                 for k, v in data.items()}
        p = d / f"run{f:03d}.root"
        with uproot.recreate(p) as fh:
            fh.mktree("events", types).extend(data)
        out.append(str(p))
    return out


MAPPING = """tree: events
hits: {x: hit_x, y: hit_y, z: hit_z, charge: hit_e, track_id: hit_trk}
event: {label: label}
scale: {x: 10.0, y: 10.0, z: 10.0, charge: 1000.0}
step_size: %d
entries_per_shard: %d
label_names: [a, b, c]
"""


def _reset_peak() -> int:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _rss("VmRSS")


def _rss(key: str = "VmHWM") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _warm(makers: list[Any]) -> None:
    for make in makers:
        src = make()
        list(src.read(src.plan(1)[0]))


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed_build(make_src: Any, out: Path, dask: Any,
                max_events: int | None = None) -> dict[str, Any]:
    from hepgraph.store.writer import build_dataset

    shutil.rmtree(out, ignore_errors=True)
    idle = dask.run(_reset_peak) if dask is not None else None
    cpu0 = sum(dask.run(_cpu).values()) if dask is not None else 0.0
    c0, t0 = _cpu(), time.perf_counter()
    build_dataset(make_src(), out, dask=dask, max_events=max_events)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    peaks = dask.run(_rss) if dask is not None else None
    cpu += sum(dask.run(_cpu).values()) - cpu0 if dask is not None else 0.0
    ds_events = __import__("hepgraph").open_dataset(out).manifest["counts"]["events"]
    return {"seconds": dt, "cpu": cpu, "events": ds_events, "idle": idle, "peaks": peaks}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2, help="ROOT files of the small input")
    ap.add_argument("--large-factor", type=int, default=4,
                    help="large input = this many times more files")
    ap.add_argument("--events-per-file", type=int, default=4000)
    ap.add_argument("--hits", type=int, default=200, help="mean hits per event")
    ap.add_argument("--step-size", type=int, default=500, help="entries per chunk")
    ap.add_argument("--entries-per-shard", type=int, default=2000)
    ap.add_argument("--sim-events", type=int, default=60)
    ap.add_argument("--sim-block", type=int, default=10)
    args = ap.parse_args()

    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store.distributed_build import open_client

    work = Path(tempfile.mkdtemp(prefix="hg-dask-bench-"))
    small = write_root(work / "small", args.files, args.events_per_file, args.hits)
    large = write_root(work / "large", args.large_factor * args.files, args.events_per_file,
                       args.hits, seed=1)
    mapping = work / "map.yaml"
    mapping.write_text(MAPPING % (args.step_size, args.entries_per_shard))
    big_step = 8 * args.step_size
    mapping_big = work / "map-big-chunks.yaml"
    mapping_big.write_text(MAPPING % (big_step, max(big_step, args.entries_per_shard)))
    mib = {k: sum(Path(f).stat().st_size for f in v) / 2**20
           for k, v in (("small", small), ("large", large))}

    def root(files: list[str], m: Path = mapping) -> Any:
        return lambda: SOURCES.get("root")(inputs=files, mapping=m, seed=0, params={})

    def sim() -> Any:
        return SOURCES.get("sim-lartpc")(inputs=None, mapping=None, seed=0,
                                         params={"block_size": args.sim_block})

    cases = {"root-small": (root(small), None), "root-large": (root(large), None),
             f"root-large, step {big_step}": (root(large, mapping_big), None),
             "sim-lartpc": (sim, args.sim_events)}
    warm = [root(small[:1]), sim]
    _warm(warm)
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for name, (make, n) in cases.items():
        rows.append((name, "local 1 process", timed_build(make, work / "out", None, n)))
    for workers in (1, 2):
        with open_client(f"local:{workers}", dashboard=False) as client:
            for name, (make, n) in cases.items():
                client.restart()  # fresh worker processes: the peak RSS is this build's alone
                client.run(_warm, warm)  # first-call costs (imports, tables) on every worker
                r = timed_build(make, work / "out", client, n)
                rows.append((name, f"dask local:{workers}", r))

    print(f"machine: {platform.node()} {platform.machine()}, {__import__('os').cpu_count()} cores; "
          f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"ROOT input: small {len(small)} files ({mib['small']:.1f} MiB), "
          f"large {len(large)} files "
          f"({mib['large']:.1f} MiB), {args.events_per_file} events/file, ~{args.hits} hits/event, "
          f"step_size {args.step_size}, entries_per_shard {args.entries_per_shard}; "
          f"sim-lartpc {args.sim_events} events, block {args.sim_block}")
    print("| input | runner | events | wall s | events/s (wall) | CPU s / 1k events "
          "| worker RSS idle (MiB) | worker peak RSS (MiB) |")
    print("|---|---|---:|---:|---:|---:|---|---|")
    for name, runner, r in rows:
        idle, peak = (
            "-" if d is None else ", ".join(f"{v / 2**20:.0f}" for v in d.values())
            for d in (r["idle"], r["peaks"]))
        print(f"| {name} | {runner} | {r['events']} | {r['seconds']:.2f} | "
              f"{r['events'] / r['seconds']:,.0f} | {1000 * r['cpu'] / r['events']:.2f} "
              f"| {idle} | {peak} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
