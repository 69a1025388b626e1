"""Generator vs simulator speed: events/s of a ``--task generate`` run against the built-in
simulator it was trained on, on the same CPU, measured interleaved.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/generative.py RUN [--events N] [--repeats R]

Both sides produce the same thing, a pyarrow table of N events (one track each) ready for
the dataset writer: the simulator's ``simulate`` (gun, helix propagation, scattering,
clusters, dE/dx) and the generator's ``GeneratedSource.simulate`` (conditions drawn from
the training particles, network sampling, decoding). CPU time is reported beside the wall
time, since the dev box is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()

    import torch

    import hepgraph.sources  # noqa: F401 - fills SOURCES
    from hepgraph.registry import SOURCES
    from hepgraph.runs.generate import Block, GeneratedSource
    from hepgraph.runs.load import load_run
    from hepgraph.store.manifest import read_manifest

    loaded = load_run(args.run)
    manifest = read_manifest(loaded.config.data.train)
    src_cfg = manifest["source"]
    sim = SOURCES.get(src_cfg["name"])(seed=0, params={k: v for k, v in src_cfg["config"].items()
                                                        if k not in ("seed", "name")})
    gen = GeneratedSource(loaded, args.events, seed=0, batch_size=args.batch_size)
    block = Block(0, 0, args.events)
    sim.simulate(np.random.default_rng(0), 50, 0)                      # warm-up
    gen.simulate(Block(0, 0, 50))
    rows = {"simulator": [], "generator": []}
    for r in range(args.repeats):
        for name in ("simulator", "generator"):
            w0, c0 = time.perf_counter(), time.process_time()
            if name == "simulator":
                table = sim.simulate(np.random.default_rng(r), args.events, 0)
            else:
                table = gen.simulate(Block(r, 0, args.events))
            rows[name].append((args.events / (time.perf_counter() - w0), args.events / (time.process_time() - c0),
                               table.num_rows))
    out = {name: {"events_per_s_wall": float(np.median([v[0] for v in vals])),
                  "events_per_s_cpu": float(np.median([v[1] for v in vals]))} for name, vals in rows.items()}
    out["generator_over_simulator_cpu"] = out["generator"]["events_per_s_cpu"] / out["simulator"]["events_per_s_cpu"]
    out.update(model=loaded.config.model.name, events=args.events, repeats=args.repeats,
               threads=torch.get_num_threads(), machine=platform.processor() or platform.machine(),
               load_average=[round(v, 2) for v in os.getloadavg()], block=str(block))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
