"""How good a constructed graph is before any classifier: the ceiling of track finding.

For events with truth, :func:`construction_report` measures

- ``edge_efficiency``: the true segments (consecutive hits of a particle in the order of
  their distance from its vertex) present in the graph, as an undirected pair;
- ``edge_purity``: graph edges joining two hits of one particle;
- ``edges_per_hit``;
- ``track_ceiling``: the double-majority efficiency (particles with >= 3 hits) of the
  connected components of the graph's *true* edges, i.e. of a perfect edge classifier
  followed by the simplest track building.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepgraph.represent.module_map import event_vertex, hit_order, truth_segments


def connected_tracks(edge_index: np.ndarray, num_hits: int) -> np.ndarray:
    """(N,) component label of each hit for undirected ``edge_index`` (2, E)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.asarray(edge_index, np.int64).reshape(2, -1)
    adj = coo_matrix((np.ones(e.shape[1], np.int8), (e[0], e[1])), shape=(num_hits, num_hits))
    _, lab = connected_components(adj, directed=False)
    return lab.astype(np.int64)


def event_tensors(event: Mapping[str, Any], layer_columns: Sequence[str]) -> tuple[Tensor, Tensor | None]:
    """``(pos (N, 3) float32 mm, layer key (N,) or None)`` of an event dict."""
    from hepgraph.events.geometry import layer_key

    pos = torch.from_numpy(np.stack([np.asarray(event[c], np.float32) for c in ("x", "y", "z")], 1))
    key = layer_key(event, tuple(layer_columns)) if layer_columns else None
    return pos, None if key is None else torch.from_numpy(key)


def labelled_edges(build: Callable[[Tensor, Tensor, Tensor | None], Tensor], event: Mapping[str, Any],
                   layer_columns: Sequence[str] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(pos, edge_index, same_particle)`` of one event under the graph builder ``build``."""
    cols = layer_columns if layer_columns is not None else getattr(getattr(build, "__self__", None),
                                                                   "data_columns", ())
    pos, key = event_tensors(event, cols)
    ei = build(pos, torch.tensor([0, pos.shape[0]]), key)
    tid = torch.as_tensor(np.array(event["track_id"], np.int64))
    return pos, ei, (tid[ei[0]] == tid[ei[1]]) & (tid[ei[0]] >= 0)


def construction_report(edges: Callable[[Mapping[str, Any]], Tensor],
                        events: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Edge efficiency, purity, edges per hit and the track ceiling over ``events``.

    Args:
        edges: event dict -> (2, E) edges of the graph under test.
        events: events with truth (``track_id``; particle vertices when present).
    """
    from hepgraph.metrics.tracking import tracking_metrics

    have, same, n_hits = [], [], 0
    ev_ids, truths, preds = [], [], []
    for k, ev in enumerate(events):
        ei = edges(ev).cpu().numpy()
        pos = np.stack([np.asarray(ev[c], np.float64) for c in ("x", "y", "z")], 1)
        tid = np.asarray(ev["track_id"], np.int64)
        n = tid.size
        seg = truth_segments(hit_order(pos, tid, event_vertex(ev)), tid, 0)
        undirected = np.minimum(ei[0], ei[1]) * n + np.maximum(ei[0], ei[1])
        have.append(np.isin(np.minimum(seg[0], seg[1]) * n + np.maximum(seg[0], seg[1]), undirected))
        ok = (tid[ei[0]] == tid[ei[1]]) & (tid[ei[0]] >= 0)
        same.append(ok)
        n_hits += n
        ev_ids.append(np.full(n, k))
        truths.append(tid)
        preds.append(connected_tracks(ei[:, ok], n))
    h, s = np.concatenate(have), np.concatenate(same)
    m = tracking_metrics(np.concatenate(ev_ids), np.concatenate(truths), np.concatenate(preds))
    return {"edge_efficiency": float(h.mean()) if h.size else float("nan"),
            "edge_purity": float(s.mean()) if s.size else float("nan"),
            "edges_per_hit": float(s.size / max(n_hits, 1)), "track_ceiling": float(m["efficiency"]),
            "events": float(len(events))}
