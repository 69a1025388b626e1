"""Running a trained model on one event for the learned clusterers (``gnn``, ``condensation``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepgraph.errors import DataError

__all__ = ["run_model"]


def run_model(model: Any, event: Mapping[str, Any], features: Any = None, device: str = "cpu") -> dict[str, np.ndarray]:
    """Collate ``event`` into a one-event ``HitBatch``, run ``model`` and return numpy outputs.

    Args:
        model: a hepgraph model (``model(batch) -> {"out": ..., ["edge_index": ...]}``).
        event: the event dict.
        features: the feature spec the model was trained with.
        device: torch device.

    Returns:
        ``{"out": array, "edge_index": (2, E) array if the model returned one}``.
    """
    import torch

    from hepgraph.events.hitbatch import collate_events

    ev = {k: v for k, v in event.items() if k not in ("edge_index", "embedding")}
    ev.setdefault("event_id", 0)
    batch = collate_events([ev], features).to(device)
    model.eval()
    with torch.no_grad():
        out = model(batch)
    if not isinstance(out, Mapping) or "out" not in out:
        raise DataError("the model did not return a dict with key `out`; it is not a hepgraph model")
    res = {"out": out["out"].detach().float().cpu().numpy()}
    if out.get("edge_index") is not None:
        res["edge_index"] = out["edge_index"].detach().cpu().numpy()
    return res
