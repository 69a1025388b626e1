"""ONNX half of ``hepgraph export``: trace with dynamic axes, add metadata, run in onnxruntime."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from hepgraph.errors import DataError
from hepgraph.runs.onnx_ops import register_symbolics

#: Name of the dynamic axis of each input, and of ``out`` per level.
AXES = {"pos": {0: "hits"}, "feats": {0: "hits"}, "ptr": {0: "events_plus_1"},
        "edge_index": {1: "edges"}}
OUT_AXIS = {"event": "events", "hit": "hits", "edge": "edges"}


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


@contextlib.contextmanager
def exact_pyg_scatter() -> Iterator[None]:
    """Let PyG's ``scatter(reduce="max"|"min")`` trace its exact path during the export.

    Under ``torch.onnx.export``, torch_geometric (2.6-2.8) swaps ``scatter_reduce_(...,
    include_self=False)`` for a version that starts from zeros, so every max over negative
    messages becomes 0 (EdgeConv outputs differ by ~0.3). :mod:`hepgraph.runs.onnx_ops`
    exports ``include_self=False`` exactly, so the switch is turned off while tracing.
    """
    try:
        mod = importlib.import_module("torch_geometric.utils._scatter")
    except ImportError:  # pragma: no cover - torch_geometric is a dependency
        yield
        return
    original = getattr(mod, "is_in_onnx_export", None)
    if original is None:  # pragma: no cover - another torch_geometric layout
        yield
        return
    mod.is_in_onnx_export = lambda: False
    try:
        yield
    finally:
        mod.is_in_onnx_export = original


def export_onnx(wrapper: nn.Module, feeds: list[tuple[Tensor, ...]], names: list[str], level: str,
                path: Path, opset: int, metadata: dict[str, str]) -> tuple[list[np.ndarray], list[str]]:
    """Export ``wrapper`` traced on ``feeds[0]`` to ``path``; run it in onnxruntime.

    Args:
        wrapper: tensor-in/tensor-out module (:class:`hepgraph.runs.export.ExportWrapper`).
        feeds: input tuples, one per check batch (in ``names`` order).
        names: input names; those not in :data:`AXES` are per-hit columns (axis 0 = hits).
        level: ``event``, ``hit`` or ``edge``: the dynamic axis of ``out``.
        path: the ``.onnx`` file to write.
        opset: ONNX opset.
        metadata: string key/values stored in the model's ``metadata_props`` (plus
            ``inputs``, the inputs the graph kept: unused ones are dropped by the exporter).

    Returns:
        onnxruntime's ``out`` per feed, and the names of the graph's inputs.

    Raises:
        DataError: the exporter or onnxruntime rejects the model.
    """
    import onnx
    import onnxruntime as ort
    import torch

    axes = {n: AXES.get(n, {0: "hits"}) for n in names}
    axes["out"] = {0: OUT_AXIS.get(level, "rows")}
    register_symbolics(opset)
    try:
        with exact_pyg_scatter():
            torch.onnx.export(wrapper, feeds[0], str(path), dynamo=False, opset_version=opset,
                              input_names=names, output_names=["out"], dynamic_axes=axes)
    except Exception as err:  # noqa: BLE001 - exporter failures are model limitations
        raise DataError(f"ONNX export of this model failed: {_first_line(err)}") from None
    proto = onnx.load(str(path))
    kept = [i.name for i in proto.graph.input]
    for key, value in {**metadata, "inputs": ",".join(kept)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    got = []
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for feed in feeds:
            arrays = {n: t.numpy() for n, t in zip(names, feed) if n in kept}
            got.append(sess.run(["out"], arrays)[0])
    except Exception as err:  # noqa: BLE001 - onnxruntime rejects the graph
        raise DataError(f"onnxruntime cannot run the exported model: {_first_line(err)}") from None
    return got, kept


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an exported ONNX file (model, task, inputs, graph, classes)."""
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def onnx_inputs(path: str | Path) -> dict[str, Any]:
    """Input names of an ONNX file with their shapes (dynamic axes by name)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in model.graph.input}
