"""Regression metrics: residuals, bias, resolution, pulls and sigma calibration.

Conventions: residual ``r = pred - true``; bias = mean(r); resolution = standard deviation
of r (also reported as a robust 68 % half-width); pull = r / sigma; calibration = fraction
of |pull| below 1 and 2 (0.683 and 0.954 for a calibrated Gaussian).
"""

from __future__ import annotations

import numpy as np


def residual_stats(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Bias, resolution (std), robust resolution (half 16-84 % width), RMSE, MAE.

    Args:
        y_true: (N,) true values.
        y_pred: (N,) predictions, same unit.
    """
    r = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    if r.size == 0:
        return {k: float("nan") for k in ("bias", "resolution", "resolution68", "rmse", "mae")}
    q16, q84 = np.percentile(r, [15.865, 84.135])
    return {
        "bias": float(r.mean()),
        "resolution": float(r.std()),
        "resolution68": float(0.5 * (q84 - q16)),
        "rmse": float(np.sqrt(np.mean(r**2))),
        "mae": float(np.mean(np.abs(r))),
    }


def pulls(y_true: np.ndarray, y_pred: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(pred - true) / sigma, shape (N,)."""
    return (np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)) / np.asarray(
        sigma, np.float64
    )


def pull_stats(p: np.ndarray) -> dict[str, float]:
    """Mean and width of the pulls and the coverage fractions |pull| < 1 and < 2."""
    p = np.asarray(p, np.float64)
    if p.size == 0:
        return {k: float("nan") for k in ("pull_mean", "pull_std", "frac_pull_lt1", "frac_pull_lt2")}
    a = np.abs(p)
    return {
        "pull_mean": float(p.mean()),
        "pull_std": float(p.std()),
        "frac_pull_lt1": float(np.mean(a < 1)),
        "frac_pull_lt2": float(np.mean(a < 2)),
    }


def binned_bias_resolution(
    y_true: np.ndarray, y_pred: np.ndarray, bins: int | np.ndarray = 10
) -> dict[str, np.ndarray]:
    """Bias and resolution of the residual in bins of the true value.

    Args:
        y_true: (N,) true values.
        y_pred: (N,) predictions.
        bins: number of equal-population bins, or explicit (M+1,) edges.

    Returns:
        ``{"edges": (M+1,), "centres": (M,), "bias": (M,), "resolution": (M,), "count": (M,)}``;
        empty bins hold NaN.
    """
    t = np.asarray(y_true, np.float64)
    r = np.asarray(y_pred, np.float64) - t
    if np.ndim(bins) == 0:
        edges = np.unique(np.quantile(t, np.linspace(0, 1, int(bins) + 1))) if t.size else np.array([0.0, 1.0])
        if edges.size < 2:
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    else:
        edges = np.asarray(bins, np.float64)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, edges.size - 2)
    m = edges.size - 1
    count = np.bincount(idx, minlength=m).astype(np.float64)
    s1 = np.bincount(idx, weights=r, minlength=m)
    s2 = np.bincount(idx, weights=r * r, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        bias = np.where(count > 0, s1 / count, np.nan)
        var = np.where(count > 0, s2 / count - bias**2, np.nan)
    return {
        "edges": edges,
        "centres": 0.5 * (edges[1:] + edges[:-1]),
        "bias": bias,
        "resolution": np.sqrt(np.clip(var, 0, None)),
        "count": count,
    }
