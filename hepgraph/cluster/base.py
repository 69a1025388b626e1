"""The ``Clusterer`` interface: one event's hits in, one track label per hit out.

Every clusterer is registered in :data:`hepgraph.registry.CLUSTERERS` and built as
``CLUSTERERS.build({"name": "dbscan", "eps": 20.0})``. ``cluster(event)`` takes an event
dict (``x, y, z`` in mm plus any other columns) or a one-event :class:`HitBatch`, and
returns an ``(N,) int64`` array of track labels ``0..K-1`` with ``-1`` for hits left
unassigned (noise). An event without hits gets an empty array, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import DataError

__all__ = ["Clusterer", "event_arrays", "positions", "compact_labels", "label_groups"]


def event_arrays(event: Mapping[str, Any] | Any) -> dict[str, Any]:
    """Event dict of numpy arrays from a dict or a one-event ``HitBatch``.

    Raises:
        DataError: a ``HitBatch`` holding more than one event.
    """
    from hepgraph.events.hitbatch import HitBatch

    if isinstance(event, HitBatch):
        if event.batch_size != 1:
            raise DataError(
                f"cluster one event at a time: got a HitBatch of `{event.batch_size}` events; "
                "slice it or loop over the dataset"
            )
        out: dict[str, Any] = {k: v.cpu().numpy() for k, v in event.hit.items()}
        pos = event.pos.cpu().numpy()
        out.update(x=pos[:, 0], y=pos[:, 1], z=pos[:, 2], event_id=int(event.event_id[0]))
        if event.edge_index is not None:
            out["edge_index"] = event.edge_index.cpu().numpy()
        return out
    if not isinstance(event, Mapping):
        raise DataError(f"an event must be a dict of columns or a HitBatch, got `{type(event).__name__}`")
    return dict(event)


def positions(event: Mapping[str, Any]) -> np.ndarray:
    """(N, 3) float64 hit positions in mm.

    Raises:
        DataError: the event has no ``x``, ``y``, ``z`` columns or they differ in length.
    """
    missing = [c for c in ("x", "y", "z") if c not in event]
    if missing:
        raise DataError(
            f"the event has no hit positions (missing `{', '.join(missing)}`); track finding needs "
            f"x, y, z in mm; columns present: {', '.join(sorted(event)) or 'none'}"
        )
    cols = [np.asarray(event[c], dtype=np.float64).reshape(-1) for c in ("x", "y", "z")]
    if len({c.size for c in cols}) != 1:
        raise DataError(f"x, y, z have different lengths: {[c.size for c in cols]}")
    pos = np.stack(cols, axis=1)
    if not np.isfinite(pos).all():
        raise DataError("hit positions contain NaN or infinite values; fix or drop those hits")
    return pos


def label_groups(labels: np.ndarray) -> list[np.ndarray]:
    """Indices of each distinct label, labels ascending, indices ascending within a group
    (one sort: O(N log N) for any number of groups)."""
    lab = np.asarray(labels)
    order = np.argsort(lab, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(lab[order])) + 1) if lab.size else []


def compact_labels(labels: np.ndarray, min_hits: int = 1) -> np.ndarray:
    """Renumber labels to ``0..K-1`` by first appearance; clusters < ``min_hits`` -> -1."""
    lab = np.asarray(labels, dtype=np.int64)
    out = np.full(lab.shape, -1, np.int64)
    ok = lab >= 0
    if not ok.any():
        return out
    uniq, first, inv, cnt = np.unique(lab[ok], return_index=True, return_inverse=True, return_counts=True)
    keep = cnt >= min_hits
    # order kept clusters by their first hit so labels are deterministic and readable
    rank = np.full(uniq.size, -1, np.int64)
    kept = np.flatnonzero(keep)
    rank[kept[np.argsort(first[kept], kind="stable")]] = np.arange(kept.size)
    out[ok] = rank[inv.reshape(-1)]
    return out


class Clusterer:
    """Base class: subclasses implement :meth:`_cluster` on a non-empty event.

    Attributes:
        name: the registered name.
        needs_model: True for learned methods that need a trained run (``gnn``, ``condensation``).
        min_hits: tracks with fewer hits are dropped (their hits get -1).
    """

    name = "clusterer"
    needs_model = False

    def __init__(self, min_hits: int = 3) -> None:
        if min_hits < 1:
            raise DataError(f"`min_hits` must be >= 1, got `{min_hits}`")
        self.min_hits = int(min_hits)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def _params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "model"}

    def cluster(self, event: Mapping[str, Any] | Any, **inputs: Any) -> np.ndarray:
        """Track label per hit (-1 = unassigned).

        Args:
            event: event dict (``x, y, z`` in mm, ...) or a one-event ``HitBatch``.
            **inputs: method inputs computed elsewhere (edge scores, embeddings, ...).

        Returns:
            (N,) int64 labels ``0..K-1`` or -1.
        """
        ev = event_arrays(event)
        pos = positions(ev)
        if pos.shape[0] == 0:
            return np.zeros(0, np.int64)
        labels = self._cluster(ev, pos, **inputs)
        return compact_labels(labels, self.min_hits)

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        raise NotImplementedError
