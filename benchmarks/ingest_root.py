"""ROOT ingest: events/s and peak RSS of ``build-dataset --source root`` over 10k and 100k events.

    PYTHONPATH=. python benchmarks/ingest_root.py [--sizes 10000 100000] [--repeats 2] [--tmp DIR]

Writes one jagged TTree per size with uproot (in 10k-entry baskets, so the generator itself
stays bounded): per event ~30 hits with ``hit_x/y/z`` (cm, float32), ``hit_t`` (absolute ns,
float64), ``hit_e`` (GeV), ``hit_trk``, plus ``evt`` and ``pdg``; mapping with scale,
a label map, an expression and ``select.hits``. Each build runs in a fresh process
(``python -m hepgraph build-dataset``), sizes interleaved, ``repeats`` times; the child's
peak RSS comes from ``wait4``. Prints one JSON line per build and a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MAPPING = """
tree: events
event_id: evt
hits:
  x: hit_x
  y: hit_y
  z: hit_z
  t: hit_t
  charge: hit_e
  track_id: hit_trk
  hit_r: "sqrt(hit_x**2 + hit_y**2)"
event:
  label: {expr: pdg, map: {11: 0, 13: 1, 211: 2}, default: 3}
scale: {x: 10.0, y: 10.0, z: 10.0, hit_r: 10.0, charge: 1000.0}
select: {hits: "charge > 0.01"}
step_size: 10000
"""


def write_file(path: Path, n: int, hits: int = 30, block: int = 10_000, seed: int = 0) -> int:
    """A jagged TTree of ``n`` events written in blocks; returns the number of hits."""
    import awkward as ak
    import uproot

    rng = np.random.default_rng(seed)
    total = 0
    with uproot.recreate(path) as f:
        tree = None
        for a in range(0, n, block):
            b = min(a + block, n)
            c = rng.poisson(hits, b - a)
            m = int(c.sum())
            total += m
            data = {
                "evt": np.arange(a, b, dtype=np.int64), "pdg": rng.choice([11, 13, 211, 2212], b - a).astype(np.int32),
                "hit_x": ak.unflatten(rng.normal(0, 50, m).astype(np.float32), c),
                "hit_y": ak.unflatten(rng.normal(0, 50, m).astype(np.float32), c),
                "hit_z": ak.unflatten(rng.normal(0, 50, m).astype(np.float32), c),
                "hit_t": ak.unflatten(1e8 + rng.uniform(0, 5000, m), c),
                "hit_e": ak.unflatten(rng.exponential(0.002, m).astype(np.float32), c),
                "hit_trk": ak.unflatten(rng.integers(1, 5, m).astype(np.int64), c),
            }
            if tree is None:
                tree = f.mktree("events", {k: (str(ak.type(v).content) if isinstance(v, ak.Array) else v.dtype)
                                           for k, v in data.items()})
            tree.extend(data)
    return total


def build(root: Path, mapping: Path, out: Path) -> dict:
    """One build in a fresh process: wall time and the child's peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hepgraph", "build-dataset", "--source", "root", "--mapping",
                             str(mapping), "--input", str(root), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(proc.stderr.read().decode())
    m = json.loads((out / "_manifest.json").read_text())
    return {"events": m["counts"]["events"], "hits": m["counts"]["hits"], "wall_s": round(wall, 2),
            "events_per_s": round(m["counts"]["events"] / wall), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tmp", default=None, help="scratch directory (default: a new one under /tmp)")
    args = ap.parse_args()
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="hepgraph-ingest-root-"))
    tmp.mkdir(parents=True, exist_ok=True)
    mapping = tmp / "map.yaml"
    mapping.write_text(MAPPING)
    files = {}
    for n in args.sizes:
        files[n] = tmp / f"events-{n}.root"
        if not files[n].exists():
            write_file(files[n], n)
    rows = []
    for r in range(args.repeats):
        for n in args.sizes:  # interleaved
            row = {"size": n, "repeat": r, **build(files[n], mapping, tmp / f"ds-{n}"), "load": os.getloadavg()[0]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("| events | hits | wall s | events/s | CPU s | peak RSS MB | load |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['events']:,} | {row['hits']:,} | {row['wall_s']} | {row['events_per_s']:,} | {row['cpu_s']} "
              f"| {row['peak_rss_mb']} | {row['load']:.1f} |")


if __name__ == "__main__":
    main()
