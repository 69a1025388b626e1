"""Binned regression and trigger metrics: bin edges, bin assignment, bin medians, turn-on curves.

A binned regression (the OMTF muon trigger assigns one of 43 p_T bins) turns a continuous
target into classes. The helpers here are plain numpy so they are reused outside training:

>>> edges = bin_edges(4, "uniform", 0.0, 8.0)
>>> edges.tolist()
[0.0, 2.0, 4.0, 6.0, 8.0]
>>> assign_bins(np.array([-1.0, 0.0, 3.9, 8.0, 100.0]), edges).tolist()
[0, 0, 1, 3, 3]

Values below the first edge go to the first bin and values at or above the last edge to
the last bin (under- and overflow are kept, as a trigger must give every candidate a bin).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepgraph.errors import ConfigError

#: Bin spacings of :func:`bin_edges`.
SPACINGS = ("uniform", "log")


#: Most bins (classes) of a binned target: the K x K confusion matrix of the metrics stays
#: small (a trigger uses tens of bins; 10^9 bins exhausted the memory).
MAX_BINS = 1024


def bin_edges(bins: int | Sequence[float], spacing: str = "uniform", lo: float | None = None,
              hi: float | None = None) -> np.ndarray:
    """Bin edges from a count and a range, or checked explicit edges.

    Args:
        bins: number of bins K (then ``spacing``, ``lo`` and ``hi`` apply), or the K+1
            explicit edges (strictly increasing).
        spacing: ``uniform`` (equal widths) or ``log`` (equal widths in log; ``lo`` > 0).
        lo: lower edge of the first bin (same unit as the target).
        hi: upper edge of the last bin.

    Returns:
        (K+1,) float64 edges.

    Raises:
        ConfigError: fewer than 2 bins, edges not increasing, a bad spacing or range.
    """
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        k = int(bins)
        if not 2 <= k <= MAX_BINS:
            raise ConfigError(f"task.bins `{bins}`: give 2 to {MAX_BINS} bins, or the list of edges")
        if spacing not in SPACINGS:
            raise ConfigError(f"task.spacing `{spacing}` is unknown; use one of {', '.join(SPACINGS)}")
        if lo is None or hi is None or not np.isfinite([lo, hi]).all() or not hi > lo:
            raise ConfigError(f"task.bin_range `[{lo}, {hi}]`: bins need a finite range with lo < hi")
        if spacing == "log":
            if lo <= 0:
                raise ConfigError(f"task.bin_range `[{lo}, {hi}]`: log bins need lo > 0")
            return np.geomspace(float(lo), float(hi), k + 1)
        return np.linspace(float(lo), float(hi), k + 1)
    try:
        edges = np.asarray([float(b) for b in bins], np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"task.bins `{bins}`: give a number of bins or a list of edges") from err
    if not 3 <= edges.size <= MAX_BINS + 1 or not np.isfinite(edges).all() or not (np.diff(edges) > 0).all():
        raise ConfigError(f"task.bins `{list(bins)}`: explicit edges must be 3 to {MAX_BINS + 1} finite, strictly "
                          "increasing numbers (K bins need K+1 edges)")
    return edges


def assign_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value: ``edges[k] <= v < edges[k+1]``, under/overflow clamped.

    Equal to ``np.digitize(values, edges[1:-1])``.

    Shapes:
        - **values:** (N,) -> (N,) int64 in ``[0, K)``
    """
    e = np.asarray(edges, np.float64)
    idx = np.searchsorted(e, np.asarray(values, np.float64), side="right") - 1
    return np.clip(idx, 0, e.size - 2).astype(np.int64)


def bin_centres(edges: np.ndarray, spacing: str = "uniform") -> np.ndarray:
    """(K,) centres: arithmetic, or geometric for ``log`` spacing (positive edges)."""
    e = np.asarray(edges, np.float64)
    if spacing == "log" and e[0] > 0:
        return np.sqrt(e[1:] * e[:-1])
    return 0.5 * (e[1:] + e[:-1])


def bin_medians(values: np.ndarray, edges: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(K,) median of the values falling in each bin; ``fallback[k]`` for an empty bin."""
    v = np.asarray(values, np.float64)
    idx = assign_bins(v, edges)
    out = np.asarray(fallback, np.float64).copy()
    for k in np.unique(idx):
        out[k] = float(np.median(v[idx == k]))
    return out


def sigma68(r: np.ndarray) -> float:
    """Half the width of the central 68.27 % interval of ``r`` (NaN when empty)."""
    r = np.asarray(r, np.float64)
    if r.size == 0:
        return float("nan")
    q16, q84 = np.percentile(r, [15.865, 84.135])
    return float(0.5 * (q84 - q16))


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (``z`` = 1: a 68 % interval).

    Returns:
        ``(lo, hi)`` arrays (NaN where n = 0).
    """
    k, n = np.asarray(k, np.float64), np.asarray(n, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        mid = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return mid - half, mid + half


def turn_on(y_true: np.ndarray, passed: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Trigger efficiency vs the true value: the fraction of candidates passing, per bin.

    Args:
        y_true: (N,) true values (e.g. p_T in GeV).
        passed: (N,) bool, the trigger decision (e.g. predicted p_T >= threshold).
        edges: (M+1,) bins of the true value; values outside are not counted.

    Returns:
        ``{"edges": (M+1,), "centres": (M,), "n": (M,), "passed": (M,), "efficiency": (M,),
        "lo": (M,), "hi": (M,)}`` (68 % Wilson interval; NaN in empty bins).
    """
    e = np.asarray(edges, np.float64)
    y = np.asarray(y_true, np.float64)
    ok = (y >= e[0]) & (y < e[-1])
    idx = np.searchsorted(e, y[ok], side="right") - 1
    m = e.size - 1
    n = np.bincount(idx, minlength=m).astype(np.float64)
    k = np.bincount(idx, weights=np.asarray(passed, bool)[ok].astype(np.float64), minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(n > 0, k / n, np.nan)
    lo, hi = wilson_interval(k, n)
    return {"edges": e, "centres": 0.5 * (e[1:] + e[:-1]), "n": n, "passed": k, "efficiency": eff,
            "lo": lo, "hi": hi}


def crossing(centres: np.ndarray, efficiency: np.ndarray, level: float = 0.5) -> float:
    """Where a turn-on curve first reaches ``level`` (linear interpolation; NaN if never).

    Empty bins (NaN) are skipped. If the first filled bin is already at or above ``level``,
    its centre is returned.
    """
    c, e = np.asarray(centres, np.float64), np.asarray(efficiency, np.float64)
    ok = np.isfinite(e)
    c, e = c[ok], e[ok]
    above = np.flatnonzero(e >= level)
    if above.size == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(c[0])
    x0, x1, y0, y1 = c[i - 1], c[i], e[i - 1], e[i]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))
