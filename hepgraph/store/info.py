"""A dataset's summary for people: events, hits per event, columns with units, labels, size."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def dataset_info(path: str | Path) -> dict[str, Any]:
    """Summary of a dataset: events, hits per event, columns with units, labels, size.

    Raises:
        DataError: not a dataset directory.
    """
    import numpy as np

    from hepgraph.store.integrity import check_shard, shard_path
    from hepgraph.store.manifest import read_manifest

    d = Path(path)
    m = read_manifest(d)
    for s in m["shards"]:
        shard_path(d, s)  # a manifest naming files outside the dataset is refused, even here
    st = m.get("stats", {}).get("hits_per_event")
    if st is None:  # older/hand-made manifest: compute from the data
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        lengths = []
        for s in m["shards"]:
            p = shard_path(d, s)
            check_shard(p, s)
            lengths.append(pc.list_value_length(pq.read_table(p, columns=["x"]).column(0))
                           .to_numpy(zero_copy_only=False))
        n = np.concatenate(lengths) if lengths else np.zeros(1, np.int64)
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
