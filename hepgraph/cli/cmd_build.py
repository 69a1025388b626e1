"""``hepgraph build-dataset``: read a source and write a dataset directory."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from hepgraph.cli.options import (
    OverwriteOption,
    SeedOption,
    SetOption,
    WorkersOption,
    handle_errors,
)

#: The built-in sources, named in ``--help`` without importing them at start-up (every command
#: would pay numpy, pyarrow and the readers); tests/cli/test_cmd_build.py checks it against
#: the registry. Plugins' sources are listed by the error for an unknown name.
BUILT_IN_SOURCES = ("sim-drift-chamber", "sim-forward-planes", "sim-geiger-grid", "sim-lartpc", "sim-pad-tpc",
                    "sim-silicon-barrel", "root", "hdf5", "trackml", "csv")


def resolve_mapping(mapping: str | None) -> Path | None:
    """A mapping path, or the name of a shipped mapping in ``hepgraph/configs/sources/``.

    Raises:
        ConfigError: neither a file nor a shipped mapping name.
    """
    from hepgraph.config import find_config

    return None if mapping is None else find_config("sources", mapping)


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Events per second and hits per second."""

        def render(self, task: Any) -> Text:
            el = task.elapsed or 0.0
            if el <= 0:
                return Text("")
            hits = task.fields.get("hits", 0)
            rate = f"{task.completed / el:,.0f} events/s  {hits / el:,.0f} hits/s"
            return Text(rate, style="cyan")

    return RateColumn()


def summary_table(out: Path, manifest: dict[str, Any], seconds: float) -> Any:
    """The one-screen summary printed after a build."""
    from rich.table import Table

    c, st = manifest["counts"], manifest.get("stats", {}).get("hits_per_event", {})
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    t = Table(title=f"dataset {out}", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("source", f"{manifest['source']['name']}")
    t.add_row("events", f"{c['events']:,}")
    t.add_row("hits", f"{c['hits']:,}  (per event min {st.get('min')}, median {st.get('median')}, "
              f"max {st.get('max')})")
    if c.get("dropped_empty"):
        t.add_row("empty events", f"{c['dropped_empty']:,} without hits dropped (--drop-empty)")
    elif c.get("empty_events"):
        t.add_row("empty events", f"{c['empty_events']:,} without hits, kept (--drop-empty drops them)")
    if c.get("particles"):
        t.add_row("particles", f"{c['particles']:,}")
    t.add_row("shards", f"{len(manifest['shards'])}  ({size / 2**20:.2f} MiB on disk)")
    t.add_row("columns", ", ".join(manifest["columns"]))
    sp = manifest.get("splits", {}).get("counts", {})
    t.add_row("splits", "  ".join(f"{k} {v:,}" for k, v in sp.items()))
    labels = manifest.get("stats", {}).get("label_counts", {}).get("label")
    if labels:
        names = manifest.get("label_names") or []
        items = sorted(labels.items(), key=lambda kv: int(kv[0]))
        t.add_row("labels", ", ".join(
            f"{names[int(k)] if 0 <= int(k) < len(names) else k}: {v}" for k, v in items))
    rate = c["events"] / seconds if seconds > 0 else float("nan")
    hit_rate = c["hits"] / max(seconds, 1e-9)
    t.add_row("time", f"{seconds:.1f} s  ({rate:,.0f} events/s, {hit_rate:,.0f} hits/s)")
    return t


def register(app: typer.Typer) -> None:
    """Add ``build-dataset``."""
    app.command("build-dataset")(build_dataset)


@handle_errors
def build_dataset(
    source: Annotated[
        str, typer.Option("--source", help="Event source: " + ", ".join(BUILT_IN_SOURCES) + " (or a plugin's).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to create.")],
    input_: Annotated[
        Optional[list[str]],
        typer.Option("--input", "-i", help="Input file, directory or glob (repeatable)."),
    ] = None,
    paths: Annotated[
        Optional[list[str]],
        typer.Argument(help="More input paths (e.g. from a shell glob).", show_default=False),
    ] = None,
    mapping: Annotated[
        Optional[str],
        typer.Option(
            "--mapping", help="YAML mapping file (root, csv), or the name of a shipped mapping (hepgraph/configs/sources/)."
        ),
    ] = None,
    events: Annotated[
        Optional[int], typer.Option("--events", help="At most this many events (>= 1).")
    ] = None,
    seed: SeedOption = 0,
    workers: WorkersOption = 0,
    overwrite: OverwriteOption = False,
    drop_empty: Annotated[
        bool, typer.Option("--drop-empty", help="Leave out events without hits (counted in the summary).")
    ] = False,
    set_: SetOption = None,
    dask: Annotated[
        Optional[str],
        typer.Option(
            "--dask",
            help="Run the shard tasks on Dask: `local[:N]` (N worker processes, default 2) "
            "or a scheduler address such as tcp://host:8786 (needs a shared filesystem; "
            "see docs/dask.md).",
        ),
    ] = None,
) -> None:
    """Build a dataset (Parquet shards + manifest) from a source.

    Units: lengths mm, times ns, momenta GeV, deposited energy MeV.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    import hepgraph.sources  # noqa: F401  (fills SOURCES)
    from hepgraph.cli.progress import live_progress
    from hepgraph.config import apply_overrides
    from hepgraph.registry import SOURCES
    from hepgraph.store.manifest import read_manifest
    from hepgraph.store.writer import build_dataset

    factory = SOURCES.get(source)
    params = apply_overrides({}, set_)
    inputs = [*(input_ or []), *(paths or [])] or None
    src = factory(inputs=inputs, mapping=resolve_mapping(mapping), seed=seed, params=params)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    state: dict[str, Any] = {}

    def progress(n_ev: int, n_hits: int) -> None:
        if "bar" not in state:  # started lazily: errors found while planning print alone
            bar = live_progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                                MofNCompleteColumn(), _rate_column(), TimeElapsedColumn(), console=console)
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task(f"{source} -> {out}", total=events, hits=0)
        bar, task = state["bar"], state["task"]
        bar.update(task, advance=n_ev, hits=bar.tasks[0].fields.get("hits", 0) + n_hits)

    try:
        with dask_session(dask, console) as client:
            path = build_dataset(src, out, max_events=events, seed=seed, workers=workers,
                                 overwrite=overwrite, progress=progress, dask=client,
                                 drop_empty=drop_empty)
    finally:
        if "bar" in state:
            state["bar"].stop()
    seconds = time.perf_counter() - t0
    Console().print(summary_table(path, read_manifest(path), seconds))


@contextlib.contextmanager
def dask_session(spec: str | None, console: Any) -> Iterator[Any]:
    """The ``--dask`` client (None without ``--dask``); prints its workers and dashboard link."""
    if spec is None:
        yield None
        return
    from hepgraph.store.distributed_build import dashboard_link, open_client

    with console.status(f"starting Dask ({spec})"):
        stack = contextlib.ExitStack()
        client = stack.enter_context(open_client(spec))
    with stack:
        n = len(client.scheduler_info().get("workers", {}))
        link = dashboard_link(client)
        console.print(f"Dask: {n} workers, scheduler {client.scheduler.address}"
                      + (f", dashboard {link}" if link else ""))
        yield client
