"""Edge metrics of graph construction and edge classification, and fit resolution.

An edge is *true* when both hits come from the same particle and that particle is not
noise. The truth segments of a particle are its consecutive hits ordered by an
``order`` key (radius, layer, or time), per event.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepgraph.errors import DataError

__all__ = [
    "edge_truth",
    "truth_segments",
    "graph_construction_metrics",
    "edge_classification_metrics",
    "resolution_vs",
]


def _edges(edge_index: np.ndarray) -> np.ndarray:
    e = np.asarray(edge_index, dtype=np.int64)
    if e.ndim != 2 or e.shape[0] != 2:
        raise DataError(f"`edge_index` must have shape (2, E), got {e.shape}")
    return e


def edge_truth(edge_index: np.ndarray, truth: np.ndarray, *, noise: Sequence[int] = (-1,)) -> np.ndarray:
    """(E,) bool: both ends come from the same non-noise particle."""
    e = _edges(edge_index)
    t = np.asarray(truth, np.int64)
    same = t[e[0]] == t[e[1]]
    return same & ~np.isin(t[e[0]], np.asarray(list(noise), np.int64))


def truth_segments(
    truth: np.ndarray, order: np.ndarray, event_id: np.ndarray | None = None,
    *, noise: Sequence[int] = (-1,),
) -> np.ndarray:
    """(2, S) edges between consecutive hits of each particle, ordered by ``order``.

    Args:
        truth: (N,) particle id per hit.
        order: (N,) ordering key along the track (transverse radius in mm, layer, time).
        event_id: (N,) event per hit (default: one event).
    """
    t = np.asarray(truth, np.int64)
    ev = np.zeros_like(t) if event_id is None else np.asarray(event_id, np.int64)
    idx = np.lexsort((np.asarray(order), t, ev))
    same = (t[idx][1:] == t[idx][:-1]) & (ev[idx][1:] == ev[idx][:-1])
    same &= ~np.isin(t[idx][1:], np.asarray(list(noise), np.int64))
    return np.stack([idx[:-1][same], idx[1:][same]]) if idx.size else np.zeros((2, 0), np.int64)


def _undirected_keys(e: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    return lo * max(n, 1) + hi


def graph_construction_metrics(
    edge_index: np.ndarray, truth: np.ndarray, order: np.ndarray,
    event_id: np.ndarray | None = None, *, noise: Sequence[int] = (-1,),
) -> dict[str, float]:
    """Edge efficiency and purity of a constructed graph (edges undirected).

    ``efficiency`` = truth segments (consecutive hits of a particle) present in the graph
    / all truth segments; ``purity`` = true edges / graph edges.
    """
    e = _edges(edge_index)
    n = len(truth)
    seg = truth_segments(truth, order, event_id, noise=noise)
    have = np.isin(_undirected_keys(seg, n), _undirected_keys(e, n))
    true = edge_truth(e, truth, noise=noise)
    return {
        "edge_efficiency": float(have.mean()) if have.size else float("nan"),
        "edge_purity": float(true.mean()) if true.size else float("nan"),
        "n_edges": float(e.shape[1]),
        "n_segments": float(seg.shape[1]),
    }


def edge_classification_metrics(
    edge_index: np.ndarray, scores: np.ndarray, truth: np.ndarray,
    *, threshold: float = 0.5, noise: Sequence[int] = (-1,),
) -> dict[str, float]:
    """Efficiency (recall) and purity (precision) of edges kept with score > ``threshold``."""
    e = _edges(edge_index)
    s = np.asarray(scores, np.float64).reshape(-1)
    if s.size != e.shape[1]:
        raise DataError(f"`scores` has {s.size} entries but there are {e.shape[1]} edges")
    y = edge_truth(e, truth, noise=noise)
    keep = s > threshold
    tp = int((keep & y).sum())
    return {
        "edge_efficiency": tp / int(y.sum()) if y.any() else float("nan"),
        "edge_purity": tp / int(keep.sum()) if keep.any() else float("nan"),
        "threshold": float(threshold),
    }


def resolution_vs(
    true: np.ndarray, fit: np.ndarray, bins: Sequence[float] | np.ndarray,
    *, x: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Relative resolution σ((fit - true)/true) in bins of ``x`` (default: ``true``).

    σ is half the 16–84% quantile range (robust to fit outliers; equals the standard
    deviation for a Gaussian); ``bias`` is the median of the relative residual.

    Args:
        true, fit: (M,) true and fitted values (for example p_T in GeV).
        bins: bin edges of ``x``.
        x: (M,) binning variable (default ``true``).

    Returns:
        ``{"edges", "centers", "count", "bias", "sigma"}`` with (K,) arrays per bin (NaN when empty).
    """
    t = np.asarray(true, np.float64)
    f = np.asarray(fit, np.float64)
    xv = t if x is None else np.asarray(x, np.float64)
    edges = np.asarray(bins, np.float64)
    rel = (f - t) / t
    ok = np.isfinite(rel)
    k = np.digitize(xv, edges) - 1
    nb = edges.size - 1
    count = np.zeros(nb, np.int64)
    bias = np.full(nb, np.nan)
    sigma = np.full(nb, np.nan)
    for b in range(nb):  # one iteration per bin, not per track
        r = rel[ok & (k == b)]
        count[b] = r.size
        if r.size:
            q16, q50, q84 = np.quantile(r, [0.16, 0.5, 0.84])
            bias[b], sigma[b] = q50, 0.5 * (q84 - q16)
    return {"edges": edges, "centers": 0.5 * (edges[1:] + edges[:-1]), "count": count,
            "bias": bias, "sigma": sigma}
