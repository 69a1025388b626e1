"""``HitBatch``: a batch of events as flat hit tensors with ``ptr`` offsets (PyG convention).

Rows are sorted by event. Every model view (sparse tensor, graph, dense image) is built
from a ``HitBatch`` in exactly one place (``hepgraph.represent``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgraph.errors import DataError
from hepgraph.events.features import DEFAULT_FEATURES, FeatureSpec
from hepgraph.events.schema import kind_of

POS_COLUMNS = ("x", "y", "z")


@dataclass
class HitBatch:
    """A batch of events.

    Attributes:
        pos: (N, 3) float32 hit positions in mm.
        feats: (N, C) float32 standardised features, in feature-spec order.
        ptr: (B+1,) int64 event offsets into the hit rows.
        batch_size: B; keeps trailing empty events.
        event_id: (B,) int64.
        hit: other per-hit columns, each (N,) (``charge``, ``layer``, ``track_id``, ``hit_id``, ...).
        event: per-event columns, each (B,) (``label``, ``n_tracks``, ``px``, ...).
        particle: per-particle columns, each (P,), with ``particle_ptr`` (B+1,) offsets.
        edge_index: optional (2, E) int64 global row indices.

    Shapes:
        - **pos:** (N, 3)  - **feats:** (N, C)  - **batch:** (N,)  - **ptr:** (B+1,)
    """

    pos: Tensor
    feats: Tensor
    ptr: Tensor
    batch_size: int
    event_id: Tensor
    hit: dict[str, Tensor] = field(default_factory=dict)
    event: dict[str, Tensor] = field(default_factory=dict)
    particle: dict[str, Tensor] = field(default_factory=dict)
    particle_ptr: Tensor | None = None
    edge_index: Tensor | None = None
    _batch: Tensor | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = self.pos.shape[0]
        if self.pos.dim() != 2:
            raise DataError(f"HitBatch.pos must be (N, D), got shape {tuple(self.pos.shape)}")
        if self.feats.shape[0] != n:
            raise DataError(f"HitBatch.feats has {self.feats.shape[0]} rows but pos has {n}")
        if self.ptr.numel() != self.batch_size + 1:
            raise DataError(
                f"HitBatch.ptr has {self.ptr.numel()} entries, expected batch_size + 1 = {self.batch_size + 1}"
            )
        if self.ptr.numel() and (int(self.ptr[0]) != 0 or int(self.ptr[-1]) != n):
            raise DataError(f"HitBatch.ptr must run from 0 to N={n}, got {self.ptr.tolist()[:3]}...")
        if (self.ptr[1:] < self.ptr[:-1]).any():
            raise DataError("HitBatch.ptr must be non-decreasing (rows sorted by event)")
        for name, v in self.hit.items():
            if v.shape[0] != n:
                raise DataError(f"hit column `{name}` has {v.shape[0]} rows, expected {n}")

    @property
    def num_hits(self) -> int:
        """N, the total number of hits."""
        return int(self.pos.shape[0])

    @property
    def counts(self) -> Tensor:
        """(B,) hits per event."""
        return self.ptr[1:] - self.ptr[:-1]

    @property
    def batch(self) -> Tensor:
        """(N,) event index of each hit (derived from ``ptr``, cached)."""
        if self._batch is None or self._batch.device != self.ptr.device:
            if torch.jit.is_tracing():  # export: no Python ints baked into the graph
                self._batch = batch_from_ptr(self.ptr, self.pos.shape[0])
            else:
                self._batch = torch.repeat_interleave(
                    torch.arange(self.batch_size, device=self.ptr.device), self.counts
                )
        return self._batch

    @property
    def y_sem(self) -> Tensor | None:
        """(N,) semantic class per hit, if present."""
        return self.hit.get("semantic")

    @property
    def y_track(self) -> Tensor | None:
        """(N,) truth track id per hit (-1 = noise), if present."""
        return self.hit.get("track_id")

    @property
    def y_event(self) -> Tensor | None:
        """(B,) event class label, if present."""
        return self.event.get("label")

    def to(self, device: torch.device | str, non_blocking: bool = False) -> HitBatch:
        """Copy every tensor to ``device``."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> HitBatch:
        """Pin every tensor (DataLoader ``pin_memory=True`` calls this)."""
        return self._map(lambda t: t.pin_memory())

    def _map(self, fn: Any) -> HitBatch:
        def f(t: Tensor | None) -> Tensor | None:
            return None if t is None else fn(t)

        return replace(
            self, pos=f(self.pos), feats=f(self.feats), ptr=f(self.ptr), event_id=f(self.event_id),
            hit={k: f(v) for k, v in self.hit.items()}, event={k: f(v) for k, v in self.event.items()},
            particle={k: f(v) for k, v in self.particle.items()}, particle_ptr=f(self.particle_ptr),
            edge_index=f(self.edge_index), _batch=None,
        )

    def __len__(self) -> int:
        return self.batch_size

    def to_pyg(self, edge_index: Tensor | None = None, y: str | None = None) -> Any:
        """A ``torch_geometric.data.Batch``, one ``Data`` per event, with every column.

        ``to_data_list()``, PyG loaders and layers work on it; ``y`` is ``label`` (else
        ``semantic``) unless named. See :mod:`hepgraph.events.pyg`.

        >>> g = batch.to_pyg()                                      # doctest: +SKIP
        >>> GCNConv(g.num_features, 16)(g.x, g.edge_index)          # doctest: +SKIP
        """
        from hepgraph.events.pyg import to_pyg

        return to_pyg(self, edge_index, y)

    @classmethod
    def from_pyg(cls, graph: Any) -> HitBatch:
        """The HitBatch of a PyG ``Batch`` or ``Data`` (inverse of :meth:`to_pyg`)."""
        from hepgraph.events.pyg import from_pyg

        return from_pyg(graph)


def batch_from_ptr(ptr: Tensor, n: int | Tensor) -> Tensor:
    """(N,) event index of each row from (B+1,) offsets, as one traceable tensor program.

    Row ``r`` belongs to event ``#{b : ptr[b+1] <= r}``: O(N B) comparisons and no
    ``repeat_interleave`` or Python integers, so an exported graph works for any N and B.
    """
    rows = torch.arange(n, device=ptr.device).unsqueeze(1)  # (N, 1)
    return (rows >= ptr[1:].unsqueeze(0)).sum(1)  # (N,)


def collate_events(
    events: Sequence[Mapping[str, Any]] | Any, features: FeatureSpec | Sequence[Any] | None = None
) -> HitBatch:
    """Concatenate events into a :class:`HitBatch` (one copy of the data).

    Args:
        events: per-event dicts (hit/particle columns as 1-D arrays, event columns scalar),
            or an awkward array of event records (hit and particle fields jagged, one list
            per event, event fields flat), as ``uproot`` or ``ak.from_parquet`` give them.
        features: the feature spec (default: ``charge`` when present, else a column of ones).

    Returns:
        The batch; empty events (including trailing ones) keep their place in ``ptr``.

    Raises:
        DataError: an awkward array without ``x`` or with hit fields of other lengths than ``x``.
    """
    spec = FeatureSpec.parse(features) if features is not None else None
    if type(events).__module__.split(".")[0] == "awkward":
        return _build(*_awkward_columns(events), spec)
    b = len(events)
    keys = list(events[0].keys()) if b else []
    counts = np.fromiter((len(ev["x"]) for ev in events), dtype=np.int64, count=b)
    hit: dict[str, np.ndarray] = {}
    part: dict[str, np.ndarray] = {}
    evt: dict[str, np.ndarray] = {}
    pcounts = None
    for k in keys:
        kind = kind_of(k)
        if kind == "hit":
            hit[k] = np.concatenate([np.asarray(ev[k]) for ev in events]) if b else np.zeros(0)
        elif kind == "particle":
            arrs = [np.asarray(ev[k]) for ev in events]
            part[k] = np.concatenate(arrs)
            if pcounts is None:
                pcounts = np.array([len(a) for a in arrs], dtype=np.int64)
        else:
            evt[k] = np.asarray([ev[k] for ev in events])
    return _build(hit, evt, part, counts, pcounts, spec)


def _awkward_columns(arr: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                        dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Flat hit/event/particle columns and per-event counts of an awkward array of events."""
    import awkward as ak

    fields = list(arr.fields)
    if "x" not in fields:
        raise DataError(f"the awkward array has no hit field `x` (fields: {', '.join(fields) or 'none'}); "
                        "give one record per event with jagged x, y, z")
    counts = ak.to_numpy(ak.num(arr["x"], axis=1)).astype(np.int64)
    hit: dict[str, np.ndarray] = {}
    part: dict[str, np.ndarray] = {}
    evt: dict[str, np.ndarray] = {}
    pcounts = None
    for f in fields:
        kind, col = kind_of(f), arr[f]
        if kind in ("hit", "particle"):
            n = ak.to_numpy(ak.num(col, axis=1)).astype(np.int64)
            if kind == "hit" and not np.array_equal(n, counts):
                raise DataError(f"hit field `{f}` has other list lengths than `x` in some events; "
                                "every hit field needs one value per hit")
            if kind == "particle":
                if pcounts is not None and not np.array_equal(n, pcounts):
                    raise DataError(f"particle field `{f}` has other list lengths than the other "
                                    "particle fields")
                pcounts = n
            (hit if kind == "hit" else part)[f] = ak.to_numpy(ak.flatten(col, axis=1))
        else:
            evt[f] = ak.to_numpy(col)
    return hit, evt, part, counts, pcounts


def _build(hit: dict[str, np.ndarray], evt: dict[str, np.ndarray], part: dict[str, np.ndarray],
           counts: np.ndarray, pcounts: np.ndarray | None, spec: FeatureSpec | None) -> HitBatch:
    """The HitBatch of flat columns and per-event hit (and particle) counts."""
    b = len(counts)
    ptr = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    pos = np.stack([hit.get(c, np.zeros(int(ptr[-1]), np.float32)) for c in POS_COLUMNS], axis=1)
    if spec is None:
        spec = DEFAULT_FEATURES if "charge" in hit else None
    feats = spec.apply(hit) if spec is not None else np.ones((len(pos), 1), np.float32)
    t = torch.from_numpy
    pptr = None
    if pcounts is not None:
        pptr = torch.zeros(b + 1, dtype=torch.int64)
        pptr[1:] = torch.cumsum(t(pcounts), 0)
    return HitBatch(
        pos=t(np.ascontiguousarray(pos, dtype=np.float32)),
        feats=t(np.ascontiguousarray(feats)),
        ptr=t(ptr),
        batch_size=b,
        event_id=t(np.asarray(evt.pop("event_id", np.arange(b))).astype(np.int64)),
        hit={k: t(np.ascontiguousarray(v)) for k, v in hit.items() if k not in POS_COLUMNS},
        event={k: t(np.ascontiguousarray(v)) for k, v in evt.items() if v.dtype != object},
        particle={k: t(np.ascontiguousarray(v)) for k, v in part.items()},
        particle_ptr=pptr,
    )
