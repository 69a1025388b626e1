"""``hepgraph cluster``: hits -> track candidates, written in the TrackML submission layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from hepgraph.cli.options import SetOption, handle_errors

SPLITS = ("train", "val", "test", "all")
SETTINGS_SUFFIXES = (".yaml", ".yml")


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


def _select(ds: Any, split: str) -> Any:
    from hepgraph.errors import ConfigError

    if split not in SPLITS:
        raise ConfigError(f"--split `{split}` is unknown; use one of {', '.join(SPLITS)}")
    return ds if split == "all" else ds.split(split)


def _nonempty(full: Any, ds: Any, split: str) -> None:
    from hepgraph.errors import DataError

    if len(ds) == 0:
        sizes = ", ".join(f"{s} {len(full.split(s))}" for s in SPLITS if s != "all")
        raise DataError(f"the {split} split of this dataset holds no events ({sizes}); choose another "
                        "with --split (all: every event)")


def _method_and_options(method: str | None, config: Path | None, sets: list[str] | None) -> tuple[str, dict]:
    from hepgraph.cluster.tune import read_settings
    from hepgraph.errors import ConfigError

    options: dict[str, Any] = {}
    if config is not None:
        chosen, options = read_settings(config)
        if method is not None and method != chosen:
            raise ConfigError(f"--method `{method}` differs from `{chosen}` in --config `{config}`; give one")
        method = chosen
    if method is None:
        raise ConfigError("give --method (dbscan, hdbscan, hough, gnn, condensation) or --config FILE")
    return method, {**options, **_parse_sets(sets)}


def register(app: typer.Typer) -> None:
    """Add the ``cluster`` command to the root app."""

    @app.command("cluster")
    @handle_errors
    def cluster(
        data: Annotated[Path, typer.Option("--data", help="Dataset directory (from build-dataset).")],
        out: Annotated[Path, typer.Option("--out", help="Output: .csv, .parquet or .root (event_id, hit_id, track_id); with --tune the settings .yaml.")],
        method: Annotated[Optional[str], typer.Option("--method", help="dbscan, hdbscan, hough, legendre (drift circles), cell-paths (cell trackers), gnn or condensation.")] = None,
        run: Annotated[Optional[Path], typer.Option("--run", help="Training run directory (gnn, condensation); gnn starts from the run's RUN/cluster.yaml.")] = None,
        config: Annotated[Optional[Path], typer.Option("--config", help="Settings YAML (method + options), e.g. from --tune.")] = None,
        set_: SetOption = None,
        split: Annotated[str, typer.Option("--split", help="Events to cluster: train, val, test or all.")] = "test",
        max_events: Annotated[Optional[int], typer.Option("--max-events", min=1, help="Cluster at most N events.")] = None,
        min_hits: Annotated[int, typer.Option("--min-hits", min=1, help="Hits of a reconstructable particle / a track.")] = 3,
        tune: Annotated[bool, typer.Option("--tune", help="Search the method's settings on the val split; write the best to --out (.yaml).")] = False,
        trials: Annotated[int, typer.Option("--trials", min=1, help="With --tune: most settings tried (beyond the grid size: a random half, then hill climbing from the best, one option at a time).")] = 40,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")] = False,
        json_: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON instead of a table.")] = False,
    ) -> None:
        """Cluster hits into tracks; with truth in the dataset, print and save tracking metrics.

        Lengths in mm, momenta in GeV, fields in T. Metrics go to OUT's stem + .metrics.json,
        with the split and the number of events. --tune chooses a classical method's settings
        on validation events (efficiency - fake rate) for --config.
        """
        import hepgraph
        import hepgraph.cluster  # noqa: F401  (fills CLUSTERERS)
        from hepgraph.atomic import refuse_existing
        from hepgraph.errors import ConfigError

        name, options = _method_and_options(method, config, set_)
        if tune:
            if out.suffix.lower() not in SETTINGS_SUFFIXES:
                raise ConfigError(f"with --tune, --out `{out}` is the settings file: give a .yaml path")
            refuse_existing(out, overwrite, "settings file")
            _tune(hepgraph.open_dataset(data), name, options, out, trials, max_events, min_hits, overwrite, json_)
            return
        from hepgraph.store.tables import table_format

        table_format(out)
        refuse_existing(out, overwrite)
        refuse_existing(metrics_path(out), overwrite, "metrics file")
        _cluster(hepgraph.open_dataset(data), data, name, options, run, split, out, max_events, min_hits,
                 overwrite, json_)


def _cluster(full: Any, data: Path, name: str, options: dict, run: Path | None, split: str, out: Path,
             max_events: int | None, min_hits: int, overwrite: bool, json_: bool) -> None:
    from hepgraph.atomic import atomic_file
    from hepgraph.cli.progress import live_progress
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.cluster.run import cluster_dataset, write_assignments

    ds = _select(full, split)
    clusterer = build_clusterer(name, options, run=run, manifest=full.manifest, events=ds)
    _nonempty(full, ds, split)
    if name == "dbscan" and "eps" not in options and getattr(clusterer, "detector", None) == "generic" \
            and clusterer.space == "xyz" and not json_:
        typer.echo(f"note: dbscan eps {clusterer.eps:g} mm, from the hit spacing where the events have one "
                   "(--set eps=MM to change)", err=True)
    n = len(ds) if max_events is None else min(len(ds), max_events)
    with live_progress(disable=json_) as prog:
        task = prog.add_task(f"clustering ({name}, {split})", total=n)
        res = cluster_dataset(ds, clusterer, max_events=max_events, min_hits=min_hits,
                              progress=lambda k: prog.advance(task, k))
    write_assignments(out, res.event_id, res.hit_id, res.track_id, overwrite=overwrite)
    report = {"method": name, "clusterer": repr(clusterer), "data": str(data), "split": split,
              "events": int(res.metrics.get("events", n)), "metrics": res.metrics, "pt_resolution": res.resolution}
    if res.truth is not None:
        with atomic_file(metrics_path(out), overwrite=overwrite, what="metrics file") as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    if json_:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_table(report, out, res.truth is not None)


def _tune(full: Any, name: str, fixed: dict, out: Path, trials: int, max_events: int | None, min_hits: int,
          overwrite: bool, json_: bool) -> None:
    from hepgraph.cli.progress import live_progress
    from hepgraph.cluster.learned import build_clusterer
    from hepgraph.cluster.tune import default_space, search, write_settings
    from hepgraph.errors import ConfigError, DataError

    if name in ("gnn", "condensation"):
        raise ConfigError(f"--tune searches the classical methods (hough, dbscan, hdbscan); `{name}` runs "
                          "choose their track building on validation when trained (RUN/cluster.yaml)")
    val = full.split("val")
    n = len(val) if max_events is None else min(len(val), max_events)
    events = [val[i] for i in range(n)]
    if not events or "track_id" not in events[0]:
        raise DataError("--tune needs validation events with truth (`track_id`); this dataset's val split "
                        f"holds {len(val)} event(s)" + ("" if not events else " without truth"))
    space = {k: v for k, v in default_space(name, full.manifest, events).items() if k not in fixed}
    with live_progress(disable=json_) as prog:
        task = prog.add_task(f"tuning {name} on {n} val events", total=trials)
        best, metrics, table = search(
            events, lambda o: build_clusterer(name, {**fixed, **o}, manifest=full.manifest), space,
            trials=trials, min_hits=min_hits, progress=lambda k: prog.advance(task, k))
    options = {**fixed, **best}
    write_settings(out, name, options, metrics, overwrite=overwrite,
                   extra={"chosen_on": {"events": n, "split": "val", "trials": len(table),
                                        "objective": "efficiency - fake_rate"}})
    if json_:
        typer.echo(json.dumps({"method": name, "options": options, "metrics": metrics}, indent=2, default=str))
        return
    from rich.console import Console as C

    C().print(f"best {name} settings on {n} val events ({len(table)} tried): {options}\n"
              f"efficiency {metrics['efficiency']:.4f}, fake rate {metrics['fake_rate']:.4f}, "
              f"TrackML score {metrics['trackml_score']:.4f}\nwritten to {out} (use --config {out})")


def _print_table(report: dict[str, Any], out: Path, has_truth: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console()
    m = report["metrics"]
    t = Table(title=f"hepgraph cluster — {report['method']} — {report['split']} split, {report['events']} events")
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
        for key in sorted(k for k in m if k.startswith("k") and k.endswith("/efficiency")):
            k = key.split("/")[0]
            t.add_row(f"{k} tracks ({int(m[k + '/events'])} events): efficiency, fake rate",
                      f"{m[key]:.4f}, {m[k + '/fake_rate']:.4f}")
    c.print(t)
    r = report.get("pt_resolution")
    if r and any(r["count"]):
        rt = Table(title="fitted p_T resolution (matched tracks)")
        for col in ("p_T bin [GeV]", "tracks", "bias", "σ(p_T)/p_T"):
            rt.add_column(col, justify="right")
        for lo, hi, n, b, s in zip(r["edges"][:-1], r["edges"][1:], r["count"], r["bias"], r["sigma"], strict=True):
            if n:
                rt.add_row(f"{lo:g}–{hi:g}", str(int(n)), f"{b:+.4f}", f"{s:.4f}")
        c.print(rt)
    c.print(f"assignments: {out}" + (f"  metrics: {metrics_path(out)}" if has_truth else "  (no truth: no metrics)"))
