"""Object-condensation inference: condensation points by β, hits assigned by distance.

Hits are taken in decreasing β. Each hit with β > ``beta_threshold`` that is still free
becomes a condensation point; every free hit closer than ``distance`` to it in the learned
clustering space joins its track (the point included). Hits never reached stay -1.
The loop runs once per condensation point (about once per track), never per hit.

The inputs come from ``cluster(event, embedding=(N, D), beta=(N,))`` or, with a trained
condensation model attached (``model=``), from its output ``(N, D+1)``: D coordinates and
one β logit (the contract of the ``condensation`` task).

YAML::

    clusterer: {name: condensation, beta_threshold: 0.5, distance: 0.5}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepgraph.cluster.base import Clusterer
from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.registry import CLUSTERERS

__all__ = ["condense", "CondensationClusterer"]


def condense(embedding: np.ndarray, beta: np.ndarray, beta_threshold: float, distance: float) -> np.ndarray:
    """(N,) labels from object-condensation outputs (see the module docstring).

    Args:
        embedding: (N, D) clustering-space coordinates.
        beta: (N,) condensation strength in [0, 1].
        beta_threshold: smallest β of a condensation point.
        distance: assignment radius in the clustering space.
    """
    x = np.asarray(embedding, np.float64)
    b = np.asarray(beta, np.float64).reshape(-1)
    n = b.size
    if x.ndim != 2 or x.shape[0] != n:
        raise DataError(f"`embedding` must be (N={n}, D), got {x.shape}")
    labels = np.full(n, -1, np.int64)
    cand = np.flatnonzero(b > beta_threshold)
    cand = cand[np.argsort(-b[cand], kind="stable")]
    d2 = distance * distance
    k = 0
    for a in cand:
        if labels[a] >= 0:
            continue
        free = labels < 0
        near = free & (((x - x[a]) ** 2).sum(axis=1) < d2)
        near[a] = True
        labels[near] = k
        k += 1
    return labels


@CLUSTERERS.register("condensation", needs_model=True, task="condensation")
class CondensationClusterer(Clusterer):
    """Object-condensation clustering.

    Args:
        beta_threshold: t_β, smallest β of a condensation point.
        distance: t_d, assignment radius in the learned space.
        min_hits: smaller tracks become noise.
        model: optional trained condensation model (output (N, D+1)).
        features: feature spec the model was trained with.
        device: torch device for the model.
    """

    name = "condensation"
    needs_model = True

    def __init__(
        self, *, beta_threshold: float = 0.5, distance: float = 0.5, min_hits: int = 3,
        model: Any = None, features: Any = None, device: str = "cpu",
    ) -> None:
        super().__init__(min_hits)
        if not 0.0 <= beta_threshold < 1.0 or distance <= 0:
            raise ConfigError(
                f"condensation needs 0 <= beta_threshold < 1 and distance > 0; got "
                f"beta_threshold=`{beta_threshold}`, distance=`{distance}`"
            )
        self.beta_threshold = float(beta_threshold)
        self.distance = float(distance)
        self.model = model
        self.features = features
        self.device = device

    def _cluster(self, event: dict[str, Any], pos: np.ndarray, **inputs: Any) -> np.ndarray:
        emb, beta = inputs.get("embedding"), inputs.get("beta")
        if emb is None or beta is None:
            if self.model is None:
                raise DataError(
                    "method `condensation` needs cluster(event, embedding=..., beta=...) or a "
                    f"trained condensation model ({setting('run', 'RUN_DIR')})"
                )
            from hepgraph.cluster.learned import run_model

            out = np.asarray(run_model(self.model, event, self.features, self.device)["out"])
            if out.ndim != 2 or out.shape[0] != pos.shape[0] or out.shape[1] < 2:
                raise DataError(f"a condensation model must output (N, D+1) per hit, got {out.shape}")
            emb, beta = out[:, :-1], 1.0 / (1.0 + np.exp(-out[:, -1]))
        return condense(emb, beta, self.beta_threshold, self.distance)
