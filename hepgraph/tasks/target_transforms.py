"""Target transforms of event regression: regress ``u = f(y)``, report ``y``.

A network learns a target best when the target is close to a linear function of what it
sees. A track's momentum is not: the image shows the curvature, which is ``q / p_perp``
(the sagitta of a track of length L in a field B is ``0.3 B L^2 / (8 p_perp)``). With
``transforms: {q_p_perp: inverse}`` the network regresses ``1 / (q p_perp)`` (standardised
like any target) and the task converts the mean back and propagates the predicted sigma
to first order: ``sigma_y = |dy/du| sigma_u``.

=========== ============ =================== ==================================
name        u = f(y)     y = g(u)            sigma_y
=========== ============ =================== ==================================
``identity`` y           u                   sigma_u
``inverse``  1 / y       1 / u               sigma_u / u^2  (y must not be 0)
``log``      log y       exp u               y sigma_u      (y must be > 0)
=========== ============ =================== ==================================
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from hepgraph.errors import ConfigError, DataError

TRANSFORMS = ("identity", "inverse", "log")
#: Smallest |u| the inverse transform divides by (keeps a prediction near u = 0 finite).
TINY = 1e-6


def check_transform(name: str, target: str) -> str:
    """The transform name, checked.

    Raises:
        ConfigError: not one of :data:`TRANSFORMS`.
    """
    if name not in TRANSFORMS:
        raise ConfigError(f"task.transforms.{target}: `{name}` is not a target transform; "
                          f"valid: {', '.join(TRANSFORMS)}")
    return name


def forward_np(name: str, target: str, y: np.ndarray) -> np.ndarray:
    """``u = f(y)`` of a sample (numpy, float64).

    Raises:
        DataError: values outside the transform's domain (0 for ``inverse``, <= 0 for ``log``).
    """
    y = np.asarray(y, np.float64)
    if name == "inverse":
        if (y == 0).any():
            raise DataError(f"regression target `{target}` has zeros: the `inverse` transform needs "
                            "non-zero values; choose another transform")
        return 1.0 / y
    if name == "log":
        if (y <= 0).any():
            raise DataError(f"regression target `{target}` has values <= 0: the `log` transform needs "
                            "positive values; choose another transform")
        return np.log(y)
    return y


def forward(name: str, y: Tensor) -> Tensor:
    """``u = f(y)`` (torch). Values outside the domain give inf/nan; the loss masks nothing, so
    :meth:`RegressionTask.fit` checks the training sample first.
    """
    if name == "inverse":
        return 1.0 / y
    if name == "log":
        return torch.log(y)
    return y


def inverse(name: str, u: Tensor, sigma_u: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """``(y, sigma_y)`` from the regressed ``u`` and its sigma (first-order propagation).

    Shapes:
        - **u, sigma_u:** (B,)  - **output:** (B,), (B,)
    """
    if name == "inverse":
        safe = torch.where(u.abs() < TINY, torch.full_like(u, TINY) * torch.where(u < 0, -1.0, 1.0), u)
        y = 1.0 / safe
        return y, (None if sigma_u is None else sigma_u * y * y)
    if name == "log":
        y = torch.exp(u)
        return y, (None if sigma_u is None else sigma_u * y)
    return u, sigma_u


def to_u_np(name: str, y: np.ndarray, sigma: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Physical mean and sigma back to ``u`` (for metrics in the regressed variable)."""
    y = np.asarray(y, np.float64)
    if name == "inverse":
        with np.errstate(divide="ignore"):
            u = 1.0 / y
        return u, (None if sigma is None else np.asarray(sigma, np.float64) * u * u)
    if name == "log":
        return np.log(np.clip(y, 1e-300, None)), (None if sigma is None else np.asarray(sigma) / y)
    return y, sigma
