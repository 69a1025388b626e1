"""Study 1: HA-TPC-style track-parameter regression on ``sim-pad-tpc``, against the classical fit.

Targets (Gaussian beta-NLL: a mean and a sigma each; the experiment ``hatpc_momentum``): the curvature ``q / p_perp`` (the
``q_p_perp`` target with the ``inverse`` transform, converted back to p_perp = |q p_perp|;
field along x, bending plane y-z), ``p_z`` and ``p_y`` (bending plane), ``z_ini`` (``vz``,
where the track starts along the pads), ``sin phi`` and ``p``, ``theta``. Networks:
``frame-deepsets`` (hits in each event's principal-axes frame) on all targets and on the
curvature alone (``curvature``: one target leaves the whole network to it), the plain per-hit ``mlp`` and
``edgeconv`` on raw hit coordinates, and a dense ResNet-18 on the y-z pad image at the
detector's pad resolution (80 x 160, hit coordinates and charge per pixel). The classical
reconstruction (``_hatpc_fit.py``: circle fit, tangent, line in the arc length) runs on the
same test events; the tables give per p_perp bin sigma68(p_perp)/p_perp, the network/fit
ratio, the pull width of the network (half the 16-84 % range of residual / sigma) and the
Gluckstern (+) multiple-scattering expectation, then the same for z_ini and sin phi.

    python examples/hatpc_regression.py --scale small     # a few CPU minutes
    python examples/hatpc_regression.py --scale medium    # 20,000 events, <= ~30 CPU minutes
    python examples/hatpc_regression.py --scale full      # 100,000 events (GPU)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from _common import compare, parse_args, save, simulate
from _hatpc_fit import classical, sigma68

#: The targets of the shipped experiment ``hatpc_momentum`` (which every model here trains with:
#: task, transforms, beta-NLL, optimiser and schedule; the scale sets epochs and batch size).
CONFIG = "hatpc_momentum"
TARGETS = ["q_p_perp", "pz", "py", "vz", "sin_phi", "p", "theta"]
DENSE = ["model.view=yz", "model.image_shape=[80,160]", "model.encoding=per_hit"]
CURVATURE = ["task.targets=[q_p_perp]"]
#: Per scale: events, batch size and groups of models trained for the same number of epochs
#: (``label=model: overrides``; the costly ones in groups with fewer epochs). At medium scale
#: edgeconv and the dense ResNet on raw coordinates learn nothing of the momentum (6 and 2
#: epochs measured: sigma(p_perp)/p_perp 6.9 and 10.6) and cost most of the CPU time, so they
#: get 2 epochs and 1 epoch of 60 steps (3,840 events), which keeps the scale within 30 minutes.
SCALES = {
    "small": {"events": 2000, "batch": 32, "groups": [
        {"epochs": 4, "models": {"curvature=frame-deepsets": [*CURVATURE, "model.hidden_channels=64"],
                                 "frame-deepsets": ["model.hidden_channels=64"],
                                 "mlp": ["model.num_layers=4"]}}]},
    "medium": {"events": 20000, "batch": 64, "groups": [
        {"epochs": 20, "models": {"curvature=frame-deepsets": CURVATURE, "frame-deepsets": [],
                                  "mlp": ["model.num_layers=4"]}},
        {"epochs": 2, "models": {"edgeconv": ["model.hidden_channels=32", "model.num_layers=2", "model.k=8"]}},
        {"epochs": 1, "models": {"dense-resnet18": [*DENSE, "model.base_channels=4",
                                                    "train.max_steps_per_epoch=60"]}}]},
    "full": {"events": 100000, "batch": 64, "groups": [
        {"epochs": 40, "models": {"curvature=frame-deepsets": [*CURVATURE, "model.hidden_channels=256"],
                                  "frame-deepsets": ["model.hidden_channels=256"], "edgeconv": ["model.k=16"],
                                  "dense-resnet50": DENSE}}]},
}
P_BINS = np.array([0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 2.0])


def predictions(run_dir, data, out) -> dict[str, np.ndarray]:
    """The network's test-split predictions (``pred_*``, ``sigma_*``, ``event_id``)."""
    import pyarrow.parquet as pq

    from hepgraph.runs.predict import predict

    path = predict(run_dir, data, out / "test_predictions.parquet", split="test", overwrite=True)
    t = pq.read_table(path)
    return {c: np.asarray(t.column(c)) for c in t.column_names}


def tables(fit: dict, nets: dict[str, dict]) -> dict[str, list[dict]]:
    """Per p_perp bin: sigma68 of p_perp/p_perp, z_ini and sin phi for the fit and each network."""
    true_pp = fit["true_p_perp"]
    rows: dict[str, list[dict]] = {"p_perp": [], "vz": [], "sin_phi": []}
    for lo, hi in zip(P_BINS[:-1], P_BINS[1:]):
        m = fit["ok"] & (true_pp >= lo) & (true_pp < hi)
        if m.sum() < 5:
            continue
        base = {"bin": [float(lo), float(hi)], "events": int(m.sum())}
        rel = (fit["fit_p_perp"][m] - true_pp[m]) / true_pp[m]
        r = {**base, "fit": sigma68(rel), "fit_bias": float(np.median(rel)),
             "gluckstern": float(np.nanmedian(fit["gluckstern"][m])),
             "gluckstern_ms": float(np.nanmedian(np.hypot(fit["gluckstern"][m], fit["ms"][m])))}
        for name, p in nets.items():
            if "pred_q_p_perp" not in p:
                continue
            pp = np.abs(p["pred_q_p_perp"][m])
            r[name] = sigma68((pp - true_pp[m]) / true_pp[m])
            r[f"{name}_pull"] = sigma68((pp - true_pp[m]) / p["sigma_q_p_perp"][m])
            r[f"{name}_charge_right"] = float(np.mean(np.sign(p["pred_q_p_perp"][m]) == np.sign(fit["true_q_p_perp"][m])))
        rows["p_perp"].append(r)
        for t in ("vz", "sin_phi"):
            d = {**base, "fit": sigma68(fit[f"fit_{t}"][m] - fit[f"true_{t}"][m])}
            for name, p in ((k, v) for k, v in nets.items() if f"pred_{t}" in v):
                res = p[f"pred_{t}"][m] - fit[f"true_{t}"][m]
                d[name] = sigma68(res)
                d[f"{name}_pull"] = sigma68(res / p[f"sigma_{t}"][m])
            rows[t].append(d)
    return rows


def overall(fit: dict, nets: dict[str, dict]) -> dict[str, dict[str, float]]:
    """sigma68 and pull width of every target over all test events, fit and networks."""
    out = {}
    for t in TARGETS:
        ok = fit["ok"]
        row = {"fit": sigma68(fit[f"fit_{t}"][ok] - fit[f"true_{t}"][ok])}
        for name, p in ((k, v) for k, v in nets.items() if f"pred_{t}" in v):
            res = p[f"pred_{t}"][ok] - fit[f"true_{t}"][ok]
            row[name], row[f"{name}_pull"] = sigma68(res), sigma68(res / p[f"sigma_{t}"][ok])
        out[t] = row
    return out


def plot(rows: list[dict], names: list[str], path) -> None:
    """sigma68(p_perp)/p_perp per bin: fit, networks, Gluckstern (+) multiple scattering."""
    from hepgraph.report.style import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    c = [0.5 * sum(r["bin"]) for r in rows]
    ax.plot(c, [r["gluckstern_ms"] for r in rows], "k:", label="Gluckstern (+) multiple scattering")
    ax.plot(c, [r["fit"] for r in rows], "ko-", label="circle fit")
    for n in names:
        ax.plot(c, [r[n] for r in rows], "s-", label=n)
    ax.set(xlabel="p_perp (GeV/c)", ylabel="sigma68(p_perp) / p_perp", yscale="log",
           title="sim-pad-tpc: momentum resolution (test split)")
    ax.legend()
    save_figure(fig, path)


def main() -> None:
    from hepgraph import open_dataset
    from hepgraph.config import configs_dir, load_yaml

    args = parse_args(__doc__.splitlines()[0], "studies/hatpc_regression", scales=SCALES)
    s = SCALES[args.scale]
    log = logging.getLogger("study")
    data = simulate("sim-pad-tpc", args.out / "data", s["events"], args.seed)
    preset = load_yaml(configs_dir() / "detectors" / "pad-tpc.yaml")
    fit = classical(open_dataset(data).split("test"), preset)
    runs = []
    for i, group in enumerate(s["groups"]):
        res = compare(data, group["models"], args.out / f"compare{i + 1}", "HA-TPC track-parameter regression",
                      task="regression", epochs=group["epochs"], seed=args.seed, device=args.device,
                      batch_size=s["batch"], config=CONFIG)
        runs += [(m, group["epochs"]) for m in res["models"]]
    nets = {}
    for m, _ in runs:
        p = predictions(m["run_dir"], data, Path(m["run_dir"]).parent)
        order = {e: i for i, e in enumerate(p["event_id"])}
        idx = np.array([order[int(e)] for e in fit["true_event_id"]])
        nets[m["model"]] = {k: v[idx] for k, v in p.items()}
    rows, summary = tables(fit, nets), overall(fit, nets)
    plot(rows["p_perp"], list(nets), args.out / "momentum_resolution.png")
    log.info("p_perp table: %s", json.dumps(rows["p_perp"], default=float))
    save(args.out, {"scale": args.scale, "events": s["events"], "test_events": int(fit["ok"].size),
                    "fit_failed": int((~fit["ok"]).sum()),
                    "targets": TARGETS, "tables": rows, "overall": summary,
                    "models": {m["model"]: {"epochs": ep, "parameters": m["parameters"],
                                            "train_events_per_s": m["train_events_per_s"],
                                            "train_seconds": m["train_seconds"]} for m, ep in runs}})


if __name__ == "__main__":
    main()
