"""``hepgraph cluster``: hits -> track candidates, written in the TrackML submission layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from hepgraph.cli.options import SetOption, handle_errors


def _parse_sets(sets: list[str] | None) -> dict[str, Any]:
    """Flat clusterer options from ``--set key=value`` (the one ``--set`` parser of config/)."""
    from hepgraph.config import parse_set
    from hepgraph.errors import ConfigError

    out: dict[str, Any] = {}
    for item in sets or []:
        keys, value = parse_set(item)
        if keys[0] == "cluster" and len(keys) > 1:
            keys = keys[1:]
        if len(keys) != 1:
            raise ConfigError(f"--set `{item}`: clusterer options are flat keys (eps, threshold, ...)")
        out[keys[0]] = value
    return out


def metrics_path(out: Path) -> Path:
    """The metrics JSON written next to the assignments: ``<stem>.metrics.json``."""
    return out.with_name(f"{out.stem}.metrics.json")


def register(app: typer.Typer) -> None:
    """Add the ``cluster`` command to the root app."""

    @app.command("cluster")
    @handle_errors
    def cluster(
        data: Annotated[Path, typer.Option("--data", help="Dataset directory (from build-dataset).")],
        method: Annotated[str, typer.Option("--method", help="dbscan, hdbscan, hough, gnn or condensation.")],
        out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .parquet (event_id, hit_id, track_id).")],
        run: Annotated[Optional[Path], typer.Option("--run", help="Training run directory (gnn, condensation).")] = None,
        set_: SetOption = None,
        max_events: Annotated[Optional[int], typer.Option("--max-events", min=1, help="Cluster at most N events.")] = None,
        min_hits: Annotated[int, typer.Option("--min-hits", min=1, help="Hits of a reconstructable particle / a track.")] = 3,
        json_: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON instead of a table.")] = False,
    ) -> None:
        """Cluster hits into tracks; with truth in the dataset, print and save tracking metrics.

        Lengths in mm, momenta in GeV, fields in T. Metrics go to OUT's stem + .metrics.json.
        """
        from rich.console import Console
        from rich.progress import Progress

        import hepgraph
        import hepgraph.cluster  # noqa: F401  (fills CLUSTERERS)
        from hepgraph.cluster.learned import build_clusterer
        from hepgraph.cluster.run import cluster_dataset, write_assignments
        from hepgraph.errors import ConfigError

        if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ConfigError(f"--out `{out}` must end in .csv or .parquet")
        ds = hepgraph.open_dataset(data)
        clusterer = build_clusterer(method, _parse_sets(set_), run=run, manifest=ds.manifest)
        n = len(ds) if max_events is None else min(len(ds), max_events)
        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=json_) as prog:
            task = prog.add_task(f"clustering ({method})", total=n)
            res = cluster_dataset(ds, clusterer, max_events=max_events, min_hits=min_hits,
                                  progress=lambda k: prog.advance(task, k))
        write_assignments(out, res.event_id, res.hit_id, res.track_id)
        report = {"method": method, "clusterer": repr(clusterer), "data": str(data),
                  "metrics": res.metrics, "pt_resolution": res.resolution}
        if res.truth is not None:
            mp = metrics_path(out)
            tmp = mp.with_name(f".{mp.name}.tmp")
            tmp.write_text(json.dumps(report, indent=2))
            tmp.replace(mp)
        if json_:
            typer.echo(json.dumps(report, indent=2))
            return
        _print_table(report, out, res.truth is not None)


def _print_table(report: dict[str, Any], out: Path, has_truth: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console()
    m = report["metrics"]
    t = Table(title=f"hepgraph cluster — {report['method']}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("events", f"{int(m['events'])}")
    t.add_row("time per event", f"{1e3 * m['seconds_per_event']:.1f} ms")
    if has_truth:
        for key in ("trackml_score", "efficiency", "fake_rate", "duplicate_rate", "purity",
                    "completeness", "ari"):
            t.add_row(key.replace("_", " "), f"{m[key]:.4f}")
        t.add_row("particles (reconstructable)", f"{int(m['n_particles'])}")
        t.add_row("tracks", f"{int(m['n_tracks'])}")
    c.print(t)
    r = report.get("pt_resolution")
    if r and any(r["count"]):
        rt = Table(title="fitted p_T resolution (matched tracks)")
        for col in ("p_T bin [GeV]", "tracks", "bias", "σ(p_T)/p_T"):
            rt.add_column(col, justify="right")
        for lo, hi, n, b, s in zip(r["edges"][:-1], r["edges"][1:], r["count"], r["bias"], r["sigma"]):
            if n:
                rt.add_row(f"{lo:g}–{hi:g}", str(int(n)), f"{b:+.4f}", f"{s:.4f}")
        c.print(rt)
    c.print(f"assignments: {out}" + (f"  metrics: {metrics_path(out)}" if has_truth else "  (no truth: no metrics)"))
