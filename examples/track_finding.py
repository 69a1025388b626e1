"""Study 5: track finding on ``sim-drift-chamber`` and on the TrackML sample.

Drift chamber: an interaction-network edge classifier is trained on the ``layers`` graph
(hits linked to the next 3 layers within 0.15 rad / 200 mm, cosine LR), and its ``gnn``
clusterer (outward ``chain`` track building, threshold 0.1, ``gnn``; or connected components
of the edges above 0.5, ``gnn-components``; both keep tracks of >= 6 hits) is compared with
``dbscan`` and ``hough`` on the test split (efficiency, fake rate, TrackML score). The graph
and clusterer settings are the demo's (``hepgraph.compare.demo``), chosen in
docs/benchmarks.md ("Track finding"). TrackML (``$HEPGRAPH_TRACKML``, a directory
with TrackML CSV files): the classic clusterers on the sample event (one event: no GNN training).

    python examples/track_finding.py --scale small
    python examples/track_finding.py --scale full

Detectors nobody tuned for (issue 18): ``--detector forward-planes`` or ``silicon-barrel``
simulates that preset, trains the one shipped recipe (``hepgraph train --config
tracking-gnn``: graph construction learned from the training split, track building chosen
on validation), tunes ``hough`` and ``dbscan`` on the val split (``hepgraph cluster --tune``)
and clusters the test split with all of them (tracks and particles with >= 3 hits).

    python examples/track_finding.py --detector forward-planes --scale small
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from _common import parse_args, save, simulate

from hepgraph.compare.demo import GNN_CLUSTERER, LAYER_GRAPH

TRACKML = Path(os.environ.get("HEPGRAPH_TRACKML", "no-trackml-sample"))

_GNN = [*LAYER_GRAPH, "model.hidden_channels=32", "model.num_iterations=3", "train.lr=3e-3",
        "train.scheduler=cosine"]
SCALES = {
    "small": {"events": 200, "epochs": 20, "batch": 8, "gnn": _GNN},
    "full": {"events": 20000, "epochs": 40, "batch": 16, "gnn": _GNN},
}
#: Track building from the edge scores: ``gnn`` = the demo's chain clusterer; tracks >= 6 hits.
GNN_METHODS = {"gnn": {**GNN_CLUSTERER, "min_hits": 6},
               "gnn-components": {"name": "gnn", "mode": "components", "threshold": 0.5, "min_hits": 6}}


def _cluster_all(ds, methods, run_dir=None):
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.cluster.run import cluster_dataset
    from hepgraph.registry import CLUSTERERS
    from hepgraph.runs.load import load_run

    out = {}
    for method in methods:
        if method.startswith("gnn"):
            loaded = load_run(run_dir, "cpu")
            cl = CLUSTERERS.build({**GNN_METHODS[method], "model": loaded.model,
                                   "features": loaded.features})
        else:
            cl = build_clusterer(method, manifest=ds.manifest)
        t0 = time.perf_counter()
        res = cluster_dataset(ds, cl)
        out[method] = {**res.metrics, "wall_s": time.perf_counter() - t0}
        logging.getLogger("study").info("%s: %s", method, out[method])
    return out


#: issue-18 study: events simulated, training epochs, tuning trials and val events per scale.
DETECTOR_SCALES = {"small": {"events": 150, "epochs": 4, "trials": 12, "tune_events": 10},
                   "full": {"events": 430, "epochs": 8, "trials": 40, "tune_events": 30}}


def _detector_arg() -> str:
    """``--detector NAME`` (taken out of sys.argv before the common arguments are parsed)."""
    import sys

    if "--detector" not in sys.argv:
        return "drift-chamber"
    i = sys.argv.index("--detector")
    name = sys.argv[i + 1]
    del sys.argv[i:i + 2]
    return name


def untuned_detector(detector: str, args) -> None:
    """The issue-18 study on ``sim-<detector>`` (see the module docstring)."""
    from hepgraph import open_dataset
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.cluster.run import cluster_dataset
    from hepgraph.cluster.tune import default_space, search
    from hepgraph.train import resolve, run

    s = DETECTOR_SCALES[args.scale]
    data = simulate(f"sim-{detector}", args.out / "data", s["events"], args.seed)
    ds = open_dataset(data)
    cfg = resolve("tracking-gnn", {"data.train": str(data), "train.epochs": s["epochs"],
                                   "train.device": args.device, "seed": args.seed}, None)
    run_dir = run(cfg, args.out / "run", overwrite=True)
    val = ds.split("val")
    val_events = [val[i] for i in range(min(len(val), s["tune_events"]))]
    tuned = {}
    for method in ("hough", "dbscan"):
        best, _, _ = search(val_events, lambda o, m=method: build_clusterer(m, o, manifest=ds.manifest),
                            default_space(method, ds.manifest), trials=s["trials"], seed=args.seed)
        tuned[method] = best
    test = ds.split("test")
    rows = {"gnn": build_clusterer("gnn", run=run_dir, manifest=ds.manifest)}
    for method, opts in tuned.items():
        rows[f"{method} (defaults)"] = build_clusterer(method, manifest=ds.manifest)
        rows[f"{method} (--tune)"] = build_clusterer(method, opts, manifest=ds.manifest)
    results = {}
    for label, cl in rows.items():
        m = cluster_dataset(test, cl).metrics
        results[label] = {k: m[k] for k in ("efficiency", "fake_rate", "trackml_score", "seconds_per_event")}
        logging.getLogger("study").info("%s: %s", label, results[label])
    import yaml

    settings = yaml.safe_load((run_dir / "cluster.yaml").read_text())
    save(args.out, {"detector": detector, "scale": args.scale, **s, "tuned": tuned, "test": results,
                    "gnn_settings": settings})


def main() -> None:
    from hepgraph import open_dataset
    from hepgraph.compare import train_and_evaluate

    detector = _detector_arg()
    args = parse_args(__doc__.splitlines()[0], "studies/track_finding")
    if detector != "drift-chamber":
        untuned_detector(detector, args)
        return
    s = SCALES[args.scale]
    data = simulate("sim-drift-chamber", args.out / "data", s["events"], args.seed)
    gnn = train_and_evaluate(data, "interaction-network", args.out / "gnn", task="edge-classification",
                             epochs=s["epochs"], seed=args.seed, device=args.device, batch_size=s["batch"],
                             overrides=s["gnn"])
    test = open_dataset(data).split("test")
    chamber = _cluster_all(test, ["gnn", "gnn-components", "dbscan", "hough"], gnn["run_dir"])
    record = {"scale": args.scale, "events": s["events"], "epochs": s["epochs"], "gnn_options": s["gnn"],
              "gnn_clusterers": GNN_METHODS,
              "edge_classifier": {k: gnn["test"].get(k) for k in ("auc", "efficiency", "purity")},
              "parameters": gnn["parameters"], "drift_chamber": chamber}
    hits = sorted(TRACKML.glob("*-hits.csv*"))
    if hits:
        import hepgraph.sources  # noqa: F401
        from hepgraph.registry import SOURCES
        from hepgraph.store import build_dataset

        out = args.out / "trackml"
        if not (out / "manifest.json").is_file():
            src = SOURCES.get("trackml")(inputs=[str(h) for h in hits], mapping=None, seed=args.seed, params={})
            build_dataset(src, out, seed=args.seed, overwrite=True)
        record["trackml"] = _cluster_all(open_dataset(out), ["dbscan", "hough"])
    save(args.out, record)


if __name__ == "__main__":
    main()
