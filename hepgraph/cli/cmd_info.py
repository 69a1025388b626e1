"""``hepgraph info``: what a dataset directory holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hepgraph.cli.options import handle_errors


def dataset_info(path: str | Path) -> dict[str, Any]:
    """Summary of a dataset: events, hits per event, columns with units, labels, size.

    Raises:
        DataError: not a dataset directory.
    """
    import numpy as np

    from hepgraph.store.manifest import read_manifest

    d = Path(path)
    m = read_manifest(d)
    st = m.get("stats", {}).get("hits_per_event")
    if st is None:  # older/hand-made manifest: compute from the data
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        n = np.concatenate([
            pc.list_value_length(pq.read_table(d / s["path"], columns=["x"]).column(0))
            .to_numpy(zero_copy_only=False) for s in m["shards"]
        ])
        st = {"min": int(n.min()), "median": float(np.median(n)), "mean": float(n.mean()),
              "max": int(n.max())}
    labels: dict[str, Any] = {}
    for col, names_key in (("label", "label_names"), ("semantic", "semantic_names")):
        counts = m.get("stats", {}).get("label_counts", {}).get(col)
        if counts is None:
            continue
        names = m.get(names_key) or []
        labels[col] = [
            {"index": int(k), "name": names[int(k)] if 0 <= int(k) < len(names) else None,
             "count": int(v)}
            for k, v in sorted(counts.items(), key=lambda kv: int(kv[0]))
        ]
    size = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    return {
        "path": str(d),
        "source": m.get("source", {}).get("name"),
        "events": m["counts"]["events"],
        "hits": m["counts"]["hits"],
        "hits_per_event": st,
        "columns": m["columns"],
        "label_names": m.get("label_names"),
        "semantic_names": m.get("semantic_names"),
        "labels": labels,
        "default_task": m.get("default_task"),
        "splits": m.get("splits", {}).get("counts"),
        "shards": len(m["shards"]),
        "size_bytes": size,
        "extra": m.get("extra", {}),
    }


def register(app: typer.Typer) -> None:
    """Add ``info``."""

    @app.command("info")
    @handle_errors
    def info_cmd(
        path: Annotated[Path, typer.Argument(help="Dataset directory.", show_default=False)],
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of tables.")
        ] = False,
    ) -> None:
        """Show a dataset: events, hits per event, columns with units, labels, size on disk."""
        info = dataset_info(path)
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        con = Console()
        h = info["hits_per_event"]
        con.print(f"[bold]{info['path']}[/bold]  source [cyan]{info['source']}[/cyan]  "
                  f"{info['events']:,} events, {info['hits']:,} hits "
                  f"(per event min {h['min']}, median {h['median']:g}, max {h['max']}), "
                  f"{info['shards']} shard(s), {info['size_bytes'] / 2**20:.2f} MiB on disk",
                  highlight=False)
        if info["splits"]:
            splits = ", ".join(f"{k} {v:,}" for k, v in info["splits"].items())
            con.print("splits: " + splits, highlight=False)
        if info["default_task"]:
            con.print(f"default task: {info['default_task']}", highlight=False)
        t = Table(title="columns")
        for c in ("column", "kind", "dtype", "unit"):
            t.add_column(c)
        for name, c in info["columns"].items():
            t.add_row(name, c["kind"], c["dtype"], c["unit"] or "-")
        con.print(t)
        for col, rows in info["labels"].items():
            lt = Table(title=f"{col} classes")
            for c in ("index", "name", "count"):
                lt.add_column(c)
            for r in rows:
                lt.add_row(str(r["index"]), r["name"] or "-", f"{r['count']:,}")
            con.print(lt)
