"""The dataset store: Parquet shards + manifest, random-access reading, loaders, splits.

Names are imported lazily so that ``import hepgraph.store`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "build_dataset": "hepgraph.store.writer",
    "EventDataset": "hepgraph.store.dataset",
    "BlockShuffleSampler": "hepgraph.store.sampler",
    "make_loader": "hepgraph.store.loader",
    "read_manifest": "hepgraph.store.manifest",
    "verify_dataset": "hepgraph.store.integrity",
    "split_codes": "hepgraph.store.splits",
    "open_dataset": "hepgraph",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hepgraph.store' has no attribute {name!r}")
