"""Study 1: HA-TPC-style momentum and angle regression on ``sim-pad-tpc``.

Networks (dense ResNet on pad images, sparse ResNet, EdgeConv GNN) regress ``p`` (GeV) and
``theta`` (rad) with a Gaussian NLL (mean + uncertainty; pull widths in the table), same
split/seed/epochs. The classical circle fit (Taubin, on the truth hits, field along x so
the bending plane is y-z) gives sigma(p_perp)/p_perp vs p_perp, shown beside the
Gluckstern limit sigma/p = sigma_y p / (0.3 B L^2) sqrt(720 / (N + 4)) computed per event
from the simulated resolution ``sigma_y``, the number of pad columns hit N, the lever arm L
and the field B (measurement term only; multiple scattering adds to the fit).

    python examples/hatpc_regression.py --scale small
    python examples/hatpc_regression.py --scale full
"""

from __future__ import annotations

import logging

import numpy as np
from _common import compare, parse_args, save, simulate

SCALES = {
    "small": {"events": 600, "epochs": 4, "batch": 16, "fit_events": 600,
              "models": {"dense-resnet18": ["model.view=yz", "model.base_channels=8", "model.image_shape=[40,80]"],
                         "sparse-resnet18": ["model.base_channels=8", "model.voxel_size=20.0"],
                         "edgeconv": ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"]}},
    "full": {"events": 100000, "epochs": 40, "batch": 64, "fit_events": 20000,
             "models": {"dense-resnet50": ["model.view=yz", "model.image_shape=[80,160]"],
                        "sparse-resnet50": ["model.voxel_size=5.0"],
                        "edgeconv": ["model.k=16"]}},
}
P_BINS = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 2.0])
#: Masses (GeV) by |PDG id| for beta in the multiple-scattering term.
MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957, 321: 0.49368, 2212: 0.93827}


def circle_fit_study(ds, n: int) -> dict:
    """sigma(p_perp)/p_perp vs p_perp of the Taubin fit and the Gluckstern limit, per bin."""
    from hepgraph.cluster.fit import fit_tracks

    extra = ds.manifest["extra"]
    B = float(extra["field_T"])
    from hepgraph.config import load_yaml, configs_dir

    from hepgraph.sources.simulate.material import material

    preset = load_yaml(configs_dir() / "detectors" / "pad-tpc.yaml")
    sigma_y = float(preset["sigma_y"])
    x0_m = material(preset["material"]).x0_cm / 100.0
    true, fit, glu, ms = [], [], [], []
    for i in range(min(n, len(ds))):
        ev = ds[i]
        trk = np.asarray(ev["track_id"]) >= 0
        if trk.sum() < 5:
            continue
        pos = np.stack([np.asarray(ev[c], np.float64)[trk] for c in ("y", "z", "x")], 1)  # B along x -> "z"
        r = fit_tracks(pos, np.zeros(len(pos), np.int64), B)
        if not len(r["pt"]) or not np.isfinite(r["pt"][0]):
            continue
        pperp = float(np.hypot(ev["py"], ev["pz"]))
        L = float(np.hypot(np.ptp(pos[:, 0]), np.ptp(pos[:, 1]))) / 1000.0  # m
        N = len(pos)
        true.append(pperp)
        fit.append(float(r["pt"][0]))
        glu.append(sigma_y / 1000.0 * pperp / (0.3 * B * L**2) * np.sqrt(720.0 / (N + 4)))
        pdg = abs(int(np.asarray(ev["particle_pdg"])[0])) if len(np.asarray(ev["particle_pdg"])) else 13
        p = float(ev["p"])
        beta = p / np.hypot(p, MASS.get(pdg, 0.13957))
        ms.append(0.0136 * np.sqrt(L / x0_m) * 1.3 / (0.3 * B * L * beta))
    true, fit, glu, ms = map(np.asarray, (true, fit, glu, ms))
    rel = (fit - true) / true
    rows = []
    for lo, hi in zip(P_BINS[:-1], P_BINS[1:]):
        m = (true >= lo) & (true < hi)
        if m.sum() < 5:
            continue
        q16, q84 = np.percentile(rel[m], [16, 84])
        rows.append({"p_lo": lo, "p_hi": hi, "n": int(m.sum()), "fit_resolution": float(0.5 * (q84 - q16)),
                     "fit_bias": float(np.median(rel[m])), "gluckstern": float(np.median(glu[m])),
                     "gluckstern_plus_ms": float(np.median(np.hypot(glu[m], ms[m])))})
    return {"field_T": B, "sigma_y_mm": sigma_y, "tracks": int(len(true)), "bins": rows}


def plot_fit(study: dict, path) -> None:
    from hepgraph.report.style import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    c = [0.5 * (r["p_lo"] + r["p_hi"]) for r in study["bins"]]
    ax.plot(c, [r["fit_resolution"] for r in study["bins"]], "o-", label="circle fit (Taubin)")
    ax.plot(c, [r["gluckstern"] for r in study["bins"]], "s--", label="Gluckstern limit (measurement)")
    ax.plot(c, [r["gluckstern_plus_ms"] for r in study["bins"]], "^:", label="Gluckstern + multiple scattering")
    ax.set(xlabel="p_perp (GeV/c)", ylabel="sigma(p_perp)/p_perp", title="sim-pad-tpc momentum resolution")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)


def main() -> None:
    from hepgraph import open_dataset

    args = parse_args(__doc__.splitlines()[0], "studies/hatpc_regression")
    s = SCALES[args.scale]
    data = simulate("sim-pad-tpc", args.out / "data", s["events"], args.seed)
    fit = circle_fit_study(open_dataset(data), s["fit_events"])  # no training: all events
    plot_fit(fit, args.out / "circle_fit.png")
    logging.getLogger("study").info("circle fit: %s", fit)
    if args.fit_only:
        save(args.out, {"scale": args.scale, "events": s["events"], "circle_fit": fit})
        return
    res = compare(data, s["models"], args.out / "compare", "HA-TPC momentum/angle regression",
                  task="regression", epochs=s["epochs"], seed=args.seed, device=args.device,
                  batch_size=s["batch"], overrides=["task.targets=[p,theta]"])
    nets = {m["model"]: {k: v for k, v in m["test"].items() if k.startswith(("p/", "theta/"))}
            for m in res["models"]}
    save(args.out, {"scale": args.scale, "events": s["events"], "epochs": s["epochs"],
                    "circle_fit": fit, "networks": nets})


if __name__ == "__main__":
    main()
