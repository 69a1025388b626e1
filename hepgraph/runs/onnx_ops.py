"""ONNX symbolics for the PyTorch ops hepgraph models trace to and the exporter lacks.

Registered for the duration of one export (:func:`register_symbolics`): in-place boolean
``&=``/``|=``, ``bincount`` (also with a ``minlength`` computed from a dynamic size),
``index_add`` along dim 0, ``cumsum`` of booleans and ``scatter_reduce`` with
``include_self=False`` (opset >= 18).
"""

from __future__ import annotations

from typing import Any

import torch

from hepgraph.errors import DataError

_REDUCE = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}
_INT64 = 7  # ONNX TensorProto.INT64


def register_symbolics(opset: int) -> None:
    """Register the symbolics of this module for ``opset``."""
    from torch.onnx import register_custom_op_symbolic

    for name, op in (("__iand_", "And"), ("__ior_", "Or")):
        register_custom_op_symbolic(f"aten::{name}", lambda g, a, b, _op=op: g.op(_op, a, b), opset)
    register_custom_op_symbolic("aten::bincount", bincount_symbolic, opset)
    register_custom_op_symbolic("aten::index_add", index_add_symbolic, opset)
    register_custom_op_symbolic("aten::cumsum", cumsum_symbolic, opset)
    if opset >= 18:
        register_custom_op_symbolic("aten::scatter_reduce", scatter_reduce_symbolic, opset)


def _const(g: Any, value: Any, dtype: torch.dtype | None = None) -> Any:
    return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))


def cumsum_symbolic(g: Any, x: Any, dim: Any, dtype: Any = None) -> Any:
    """``cumsum`` that also accepts boolean input (ONNX CumSum does not): counts as int64."""
    from torch.onnx import symbolic_helper as sh

    axis = _const(g, sh._get_const(dim, "i", "dim"), torch.int64)
    st = x.type().scalarType() if hasattr(x.type(), "scalarType") else None
    if st in ("Bool", "Byte", "Char", "Short", "Int") or st is None:
        x = g.op("Cast", x, to_i=_INT64)  # as torch promotes integer/bool cumsum
    return g.op("CumSum", x, axis)


def scatter_reduce_symbolic(g: Any, self: Any, dim: Any, index: Any, src: Any, reduce: Any,
                            include_self: Any) -> Any:
    """``scatter_reduce`` (sum/prod/amax/amin), also with ``include_self=False`` (opset >= 18).

    Without ``self``: scatter into the reduction's identity, then keep ``self`` where no
    source element landed.
    """
    from torch.onnx import symbolic_helper as sh

    red = sh._maybe_get_const(reduce, "s")
    if red not in _REDUCE:
        raise DataError(f"ONNX export: scatter_reduce `{red}` is not supported")
    axis = sh._get_const(dim, "i", "dim")
    if sh._maybe_get_const(include_self, "b"):
        return g.op("ScatterElements", self, index, src, axis_i=axis, reduction_s=_REDUCE[red])
    ident = {"sum": 0.0, "prod": 1.0, "amax": float("-inf"), "amin": float("inf")}[red]
    zero_self = g.op("Mul", self, _const(g, 0.0))
    base = g.op("Add", zero_self, _const(g, ident))
    res = g.op("ScatterElements", base, index, src, axis_i=axis, reduction_s=_REDUCE[red])
    ones = g.op("Add", g.op("Mul", src, _const(g, 0.0)), _const(g, 1.0))
    hit = g.op("ScatterElements", zero_self, index, ones, axis_i=axis, reduction_s="max")
    return g.op("Where", g.op("Greater", hit, _const(g, 0.5)), res, self)


def index_add_symbolic(g: Any, self: Any, dim: Any, index: Any, other: Any, alpha: Any = None) -> Any:
    """``index_add`` along dim 0 with repeated indices: ScatterElements(add) on expanded indices."""
    from torch.onnx import symbolic_helper as sh

    if sh._get_const(dim, "i", "dim") != 0:
        raise DataError("ONNX export: index_add is supported along dim 0 only")
    rank = sh._get_tensor_rank(other)
    idx = index
    for _ in range((rank or 1) - 1):
        idx = g.op("Unsqueeze", idx, _const(g, [-1], torch.int64))
    idx = g.op("Expand", idx, g.op("Shape", other))
    return g.op("ScatterElements", self, idx, other, axis_i=0, reduction_s="add")


def bincount_symbolic(g: Any, x: Any, weights: Any, minlength: Any) -> Any:
    """``bincount`` as ScatterElements(add) into zeros of size max(max(x) + 1, minlength).

    ``minlength`` may be a constant or a value of the graph (a batch's event count).
    """
    from torch.onnx import symbolic_helper as sh

    if not sh._is_none(weights):
        raise DataError("ONNX export: bincount with weights is not supported")
    one = _const(g, [1], torch.int64)
    if sh._is_value(minlength) and not sh._is_constant(minlength):
        minl = g.op("Reshape", g.op("Cast", minlength, to_i=_INT64), one)
    else:
        minl = _const(g, [int(sh._get_const(minlength, "i", "minlength"))], torch.int64)
    # max(x) of an empty x is undefined in ONNX: append a -1 (the empty batch counts nothing)
    xm = g.op("Concat", g.op("Cast", x, to_i=_INT64), _const(g, [-1], torch.int64), axis_i=0)
    size = g.op("Max", g.op("Add", g.op("ReduceMax", xm, keepdims_i=1), one), minl)
    zeros = g.op("ConstantOfShape", size, value_t=torch.tensor([0], dtype=torch.int64))
    ones = g.op("ConstantOfShape", g.op("Shape", x), value_t=torch.tensor([1], dtype=torch.int64))
    return g.op("ScatterElements", zeros, x, ones, axis_i=0, reduction_s="add")
