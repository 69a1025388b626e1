"""Model summary: layers, parameters and activation sizes for an input of a given size.

:func:`summarize` runs one forward pass on a synthetic batch (``events`` events of ``hits``
hits, uniform in the model's ``extent``) with a hook on every module, and reports per
module its output shape, its own parameters and the size of its output (float32 MiB),
as ``hepgraph models NAME`` prints it.

>>> from hepgraph.models import create_model
>>> from hepgraph.models.summary import summarize
>>> s = summarize(create_model("mlp", in_channels=1, level="event", out_channels=3), events=2, hits=50)
>>> s.parameters == sum(p.numel() for p in s.model.parameters())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.events.hitbatch import HitBatch, collate_events


@dataclass
class Layer:
    """One module of the summary: ``parameters`` counts its children's too; ``shape`` and
    ``activation_bytes`` describe its output (None / 0 for containers never called)."""

    name: str
    kind: str
    depth: int
    parameters: int
    shape: tuple[int, ...] | None = None
    activation_bytes: int = 0


@dataclass
class Summary:
    """The summary of one model on one input size."""

    model: nn.Module
    layers: list[Layer] = field(default_factory=list)
    parameters: int = 0
    trainable: int = 0
    parameter_bytes: int = 0
    activation_bytes: int = 0
    output_shape: tuple[int, ...] | None = None
    events: int = 0
    hits: int = 0


def _first_tensor(x: Any) -> Tensor | None:
    """The tensor a module output stands for (a SparseTensor's features, a dict's ``out``)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, dict):
        x = x.get("out", next(iter(x.values()), None))
        return _first_tensor(x)
    if isinstance(x, (tuple, list)) and x:
        return _first_tensor(x[0])
    feats = getattr(x, "feats", None)
    return feats if isinstance(feats, Tensor) else None


def synthetic_batch(in_channels: int, events: int, hits: int, extent: Any = None,
                    seed: int = 0) -> HitBatch:
    """``events`` events of ``hits`` hits uniform in ``extent`` (mm; default +-1 m), features
    uniform in [0.1, 2], and a ``layer`` column (0..7) for layer-graph models."""
    from hepgraph.represent.image import parse_extent

    ext = parse_extent(extent)
    rng = np.random.default_rng(seed)
    evs = []
    for e in range(events):
        ev: dict[str, Any] = {"event_id": e, "layer": rng.integers(0, 8, hits).astype(np.int32)}
        for c, (lo, hi) in zip("xyz", ext):
            ev[c] = rng.uniform(lo, hi, hits).astype(np.float32)
        for i in range(in_channels):
            ev[f"hit_f{i}"] = rng.uniform(0.1, 2.0, hits).astype(np.float32)
        evs.append(ev)
    batch = collate_events(evs, [f"hit_f{i}" for i in range(in_channels)])
    return batch


def _modules(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    for name, mod in model.named_modules():
        if name:
            yield name, mod


def summarize(model: nn.Module, events: int = 2, hits: int = 500, batch: HitBatch | None = None) -> Summary:
    """Layers, parameters and activation sizes of ``model`` on a batch.

    Args:
        model: a HitBatch model (``create_model``).
        events: events of the synthetic batch.
        hits: hits per synthetic event.
        batch: the batch to use instead of a synthetic one.

    Returns:
        The :class:`Summary`; ``activation_bytes`` sums the outputs of leaf modules (what a
        training step keeps for backward, roughly), float32.
    """
    if batch is None:
        batch = synthetic_batch(int(getattr(model, "in_channels", 1)), events, hits,
                                getattr(model, "extent", None))
    layers: dict[str, Layer] = {}
    hooks = []
    for name, mod in _modules(model):
        total = sum(p.numel() for p in mod.parameters())  # the module's own and its children's
        layers[name] = Layer(name, type(mod).__name__, name.count("."), total)

        def hook(m: nn.Module, args: Any, out: Any, _name: str = name) -> None:
            t = _first_tensor(out)
            if t is not None:
                layers[_name].shape = tuple(t.shape)
                layers[_name].activation_bytes = t.numel() * t.element_size()

        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(batch)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    leaves = {n for n, m in _modules(model) if not list(m.children())}
    params = list(model.parameters())
    first = _first_tensor(out)
    return Summary(
        model=model, layers=list(layers.values()), parameters=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
        parameter_bytes=sum(p.numel() * p.element_size() for p in params),
        activation_bytes=sum(lay.activation_bytes for lay in layers.values() if lay.name in leaves),
        output_shape=tuple(first.shape) if first is not None else None,
        events=batch.batch_size, hits=batch.num_hits)
