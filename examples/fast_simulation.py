"""Study 7: generative fast simulation of TPC clusters (the Warsaw overview's conditional GANs).

A generator learns a track's clusters given its particle (momentum, direction, charge,
species, vertex) from ``sim-pad-tpc`` (160 pad columns, 0.2 T): the seed's conditional GAN
(``cond-gan``) and conditional flow matching (``flow-matching``), trained with
``--task generate``. Each is scored on the test split against the simulator for the same
particles: the mean and median distance of the clusters to the particle's ideal helix (mm;
the simulator's own value comes from its smearing and multiple scattering), Wasserstein
distances of that distance, the cluster charge, the truncated-mean charge and the clusters
per track, and events/s against the simulator on the same CPU (one thread, interleaved).

The seed's table: GEANT3 1.20 mm, condDCGAN+ 136.8 mm, condLSTM GAN+ 221.8 mm, speed-up 25x.

    python examples/fast_simulation.py --scale small
"""

from __future__ import annotations

import time

import numpy as np
from _common import parse_args, save, simulate

SCALES = {
    "small": {"events": 1500, "epochs": 4, "batch": 32, "timing_events": 500},
    "medium": {"events": 3000, "epochs": 12, "batch": 32, "timing_events": 1000},
    "full": {"events": 100000, "epochs": 50, "batch": 128, "timing_events": 10000},
}
MODELS = {
    "flow-matching": ["model.hidden_channels=48", "model.num_blocks=6", "model.steps=16"],
    "cond-gan": ["model.hidden_channels=48", "model.num_blocks=6", "train.lr=2e-4",
                 "train.optimizer={name: adam, betas: [0.5, 0.999]}"],
}
SEED_TABLE = {"GEANT3 (seed)": 1.20, "condDCGAN+ (seed)": 136.8, "condLSTM GAN+ (seed)": 221.8}


def events_per_s(run_dir, data, n: int) -> dict[str, float]:
    """Events/s (wall, one repeat each, interleaved twice) of the simulator and the generator."""
    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.runs.generate import Block, GeneratedSource
    from hepgraph.runs.load import load_run
    from hepgraph.store.manifest import read_manifest

    cfg = read_manifest(data)["source"]
    # the manifest records the preset's name beside its resolved parameters; the parameters alone rebuild it
    params = {k: v for k, v in cfg["config"].items() if k not in ("seed", "name", "detector")}
    sim = SOURCES.get(cfg["name"])(seed=0, params=params)
    gen = GeneratedSource(load_run(run_dir), n)
    rates: dict[str, list[float]] = {"simulator": [], "generator": []}
    for r in range(2):
        t0 = time.perf_counter()
        sim.simulate(np.random.default_rng(r), n, 0)
        rates["simulator"].append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        gen.simulate(Block(r, 0, n))
        rates["generator"].append(n / (time.perf_counter() - t0))
    return {k: float(np.median(v)) for k, v in rates.items()}


def main() -> None:
    from hepgraph.compare import train_and_evaluate

    args = parse_args(__doc__.splitlines()[0], "studies/fast_simulation", scales=SCALES)
    s = SCALES[args.scale]
    data = simulate("sim-pad-tpc", args.out / "data", s["events"], args.seed)
    rows = {}
    for name, overrides in MODELS.items():
        res = train_and_evaluate(data, name, args.out / name, task="generate", epochs=s["epochs"], seed=args.seed,
                                 device=args.device, batch_size=s["batch"], overrides=overrides)
        t = res["test"]
        speed = events_per_s(res["run_dir"], data, s["timing_events"])
        rows[name] = {"helix_mean_mm": t.get("gen/helix_mean"), "helix_median_mm": t.get("gen/helix_median"),
                      "simulator_helix_mean_mm": t.get("sim/helix_mean"),
                      "simulator_helix_median_mm": t.get("sim/helix_median"),
                      **{k: t.get(k) for k in ("w1/helix", "w1/charge", "w1/dedx", "w1/clusters", "fidelity")},
                      "events_per_s": speed, "speedup": speed["generator"] / speed["simulator"]}
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"], "models": rows,
                    "seed_table_mm": SEED_TABLE, "seed_speedup": 25.0})


if __name__ == "__main__":
    main()
