"""``hepgraph export``: a trained model as TorchScript or ONNX, checked against PyTorch.

The exported graph takes plain tensors ``(pos (N, 3) mm, feats (N, C), ptr (B+1,))`` and
returns ``out`` (and ``edge_index`` for edge models); it is traced on a sample batch, so
shapes that the model derives from the data (image sizes, event count B) are those of the
trace. The check runs PyTorch and the exported model (onnxruntime for ONNX) on the trace
batch and on a second batch of the same shape with new values, and fails when they differ.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph.errors import ConfigError, DataError, MissingDependencyError
from hepgraph.events.hitbatch import HitBatch, collate_events
from hepgraph.runs.load import LoadedRun, load_run

FORMATS = ("onnx", "torchscript")


class ExportWrapper(nn.Module):
    """Tensor-in/tensor-out view of a HitBatch model (batch size fixed by the trace).

    Shapes:
        - **pos:** (N, 3)  - **feats:** (N, C)  - **ptr:** (B+1,)
        - **out:** (B | N | E, out_channels)
    """

    def __init__(self, model: nn.Module, batch_size: int, edges: bool) -> None:
        super().__init__()
        self.model, self.batch_size, self.edges = model, batch_size, edges

    def forward(self, pos: Tensor, feats: Tensor, ptr: Tensor) -> Any:
        b = HitBatch(pos=pos, feats=feats, ptr=ptr, batch_size=self.batch_size,
                     event_id=torch.zeros(self.batch_size, dtype=torch.long))
        out = self.model(b)
        return (out["out"], out["edge_index"]) if self.edges else out["out"]

    def extra_repr(self) -> str:
        return f"batch_size={self.batch_size}, edges={self.edges}"


def sample_batches(loaded: LoadedRun, data: str | Path | None, events: int, hits: int,
                   seed: int = 0) -> tuple[HitBatch, HitBatch]:
    """Two batches with identical shapes: real events from ``data`` or synthetic hits in ``extent``."""
    names = loaded.features.names
    if data is not None:
        from hepgraph import open_dataset

        ds = open_dataset(data)
        if len(ds) < 2 * events:
            raise DataError(f"--data `{data}` has {len(ds)} events; the export check needs {2 * events}")
        a = [ds[i] for i in range(events)]
        b = [dict(ds[events + i]) for i in range(events)]
        # same hit counts as the trace batch, new values
        for ea, eb in zip(a, b):
            n = len(ea["x"])
            for k in set(ea) & set(eb):
                if np.ndim(ea[k]) == 1 and len(ea[k]) == n:
                    eb[k] = np.resize(np.asarray(eb[k]), n)
        return collate_events(a, loaded.features), collate_events(b, loaded.features)
    ext = loaded.config.model.kwargs.get("extent") or [[-100.0, 100.0]] * 3
    rng = np.random.default_rng(seed)

    def make(off: int) -> HitBatch:
        evs = []
        for e in range(events):
            ev: dict[str, Any] = {"event_id": off + e}
            for c, (lo, hi) in zip("xyz", ext):
                ev[c] = rng.uniform(lo, hi, hits).astype(np.float32)
            for n in names:
                if n not in ev:
                    ev[n] = rng.uniform(0.1, 2.0, hits).astype(np.float32)
            evs.append(ev)
        return collate_events(evs, loaded.features)

    return make(0), make(events)


@contextlib.contextmanager
def _torch_neighbours() -> Iterator[None]:
    """Trace the pure-torch kNN/radius search (the scipy KD-tree path would be baked in)."""
    try:
        from hepgraph.represent import neighbors
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(neighbors, "_use_kdtree", None)
    if original is None:  # pragma: no cover
        yield
        return
    neighbors._use_kdtree = lambda pos, backend: False
    try:
        yield
    finally:
        neighbors._use_kdtree = original


def _inputs(b: HitBatch) -> tuple[Tensor, Tensor, Tensor]:
    return b.pos, b.feats, b.ptr


def _max_diff(a: Any, b: Any, rtol: float = 0.0) -> float:
    """max |a - b| - rtol |b| over all outputs (0 for empty outputs)."""
    a = a if isinstance(a, (tuple, list)) else [a]
    b = b if isinstance(b, (tuple, list)) else [b]
    out = 0.0
    for x, y in zip(a, b):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            return float("inf")
        if x.size:
            out = max(out, float(np.max(np.abs(x - y) - rtol * np.abs(y))))
    return out


def export(run: str | Path, fmt: str, out: str | Path, *, data: str | Path | None = None,
           events: int = 2, hits: int = 64, atol: float = 1e-4, rtol: float = 1e-3,
           opset: int = 18) -> dict[str, Any]:
    """Export a run's model and check it reproduces PyTorch.

    Args:
        run: run directory or checkpoint.
        fmt: ``onnx`` or ``torchscript``.
        out: output file (written through a temporary sibling).
        data: dataset for the sample batches (default: synthetic hits inside ``extent``).
        events: events per sample batch (fixed in the exported graph).
        hits: hits per synthetic event.
        atol: allowed absolute difference (on top of ``rtol`` times the PyTorch value).
        rtol: allowed relative difference.
        opset: ONNX opset.

    Returns:
        ``{"format", "path", "max_abs_diff", "checked_batches"}``.

    Raises:
        ConfigError: unknown format.
        DataError: the exported model does not reproduce PyTorch.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format `{fmt}`; valid: {', '.join(FORMATS)}")
    out = Path(out)
    loaded = load_run(run, "cpu")
    edges = loaded.task.level == "edge"
    wrapper = ExportWrapper(loaded.model, events, edges).eval()
    b1, b2 = sample_batches(loaded, data, events, hits)
    with torch.no_grad():
        refs = [wrapper(*_inputs(b)) for b in (b1, b2)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}{out.suffix}")
    try:
        with warnings.catch_warnings(), torch.no_grad(), _torch_neighbours():
            warnings.simplefilter("ignore")
            if fmt == "torchscript":
                traced = torch.jit.trace(wrapper, _inputs(b1), check_trace=False)
                traced.save(str(tmp))
                mod = torch.jit.load(str(tmp))
                got = [mod(*_inputs(b)) for b in (b1, b2)]
                got = [[t.numpy() for t in g] if isinstance(g, tuple) else g.numpy() for g in got]
            else:
                got = _onnx(wrapper, b1, b2, tmp, edges, opset)
        refs_np = [[t.numpy() for t in r] if isinstance(r, tuple) else r.numpy() for r in refs]
        diff = max(_max_diff(g, r) for g, r in zip(got, refs_np))
        excess = max(_max_diff(g, r, rtol) for g, r in zip(got, refs_np))
        if not excess <= atol:
            raise DataError(f"the exported {fmt} model differs from PyTorch by {diff:.3g} "
                            f"(allowed {atol} + {rtol} x |value|); it cannot be exported faithfully")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"format": fmt, "path": str(out), "max_abs_diff": diff, "checked_batches": 2}


def _register_symbolics(opset: int) -> None:
    """ONNX symbolics for in-place boolean ops the tracer records (``mask &= ...``)."""
    from torch.onnx import register_custom_op_symbolic

    for name, op in (("__iand_", "And"), ("__ior_", "Or")):
        register_custom_op_symbolic(f"aten::{name}", lambda g, a, b, _op=op: g.op(_op, a, b), opset)
    register_custom_op_symbolic("aten::bincount", _bincount_symbolic, opset)
    register_custom_op_symbolic("aten::index_add", _index_add_symbolic, opset)
    register_custom_op_symbolic("aten::cumsum", _cumsum_symbolic, opset)
    if opset >= 18:
        register_custom_op_symbolic("aten::scatter_reduce", _scatter_reduce_symbolic, opset)


def _cumsum_symbolic(g: Any, x: Any, dim: Any, dtype: Any = None) -> Any:
    """``cumsum`` that also accepts boolean input (ONNX CumSum does not): counts as int64."""
    from torch.onnx import symbolic_helper as sh

    axis = g.op("Constant", value_t=torch.tensor(sh._get_const(dim, "i", "dim"), dtype=torch.int64))
    st = x.type().scalarType() if hasattr(x.type(), "scalarType") else None
    if st in ("Bool", "Byte", "Char", "Short", "Int") or st is None:
        x = g.op("Cast", x, to_i=7)  # INT64, as torch promotes integer/bool cumsum
    return g.op("CumSum", x, axis)


_REDUCE = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}


def _scatter_reduce_symbolic(g: Any, self: Any, dim: Any, index: Any, src: Any, reduce: Any,
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
    incl = sh._maybe_get_const(include_self, "b")
    if incl:
        return g.op("ScatterElements", self, index, src, axis_i=axis, reduction_s=_REDUCE[red])
    ident = {"sum": 0.0, "prod": 1.0, "amax": float("-inf"), "amin": float("inf")}[red]
    base = g.op("Add", g.op("Mul", self, g.op("Constant", value_t=torch.tensor(0.0))),
                g.op("Constant", value_t=torch.tensor(ident)))
    res = g.op("ScatterElements", base, index, src, axis_i=axis, reduction_s=_REDUCE[red])
    hit = g.op("ScatterElements", g.op("Mul", self, g.op("Constant", value_t=torch.tensor(0.0))),
               index, g.op("Add", g.op("Mul", src, g.op("Constant", value_t=torch.tensor(0.0))),
                           g.op("Constant", value_t=torch.tensor(1.0))), axis_i=axis, reduction_s="max")
    cond = g.op("Greater", hit, g.op("Constant", value_t=torch.tensor(0.5)))
    return g.op("Where", cond, res, self)


def _index_add_symbolic(g: Any, self: Any, dim: Any, index: Any, other: Any, alpha: Any = None) -> Any:
    """``index_add`` along dim 0 with repeated indices: ScatterElements(add) on expanded indices."""
    from torch.onnx import symbolic_helper as sh

    d = sh._get_const(dim, "i", "dim")
    if d != 0:
        raise DataError("ONNX export: index_add is supported along dim 0 only")
    shape = g.op("Shape", other)
    rank = sh._get_tensor_rank(other)
    idx = index
    for _ in range((rank or 1) - 1):
        idx = g.op("Unsqueeze", idx, g.op("Constant", value_t=torch.tensor([-1], dtype=torch.int64)))
    idx = g.op("Expand", idx, shape)
    return g.op("ScatterElements", self, idx, other, axis_i=0, reduction_s="add")


def _bincount_symbolic(g: Any, x: Any, weights: Any, minlength: Any) -> Any:
    """``bincount`` as ScatterElements(add) into zeros of size max(max(x) + 1, minlength)."""
    from torch.onnx import symbolic_helper as sh

    if not sh._is_none(weights):
        raise DataError("ONNX export: bincount with weights is not supported")
    minl = sh._get_const(minlength, "i", "minlength")
    i64 = torch.int64
    one = g.op("Constant", value_t=torch.tensor([1], dtype=i64))
    size = g.op("Add", g.op("ReduceMax", x, keepdims_i=1), one)
    size = g.op("Max", size, g.op("Constant", value_t=torch.tensor([int(minl)], dtype=i64)))
    zeros = g.op("ConstantOfShape", size, value_t=torch.tensor([0], dtype=i64))
    ones = g.op("ConstantOfShape", g.op("Shape", x), value_t=torch.tensor([1], dtype=i64))
    return g.op("ScatterElements", zeros, x, ones, axis_i=0, reduction_s="add")


def _onnx(wrapper: nn.Module, b1: HitBatch, b2: HitBatch, path: Path, edges: bool,
          opset: int) -> list[Any]:
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover
        raise MissingDependencyError("ONNX export needs onnx and onnxruntime: pip install hepgraph[onnx]") from err
    names = ["out", "edge_index"] if edges else ["out"]
    _register_symbolics(opset)
    try:
        torch.onnx.export(wrapper, _inputs(b1), str(path), dynamo=False, opset_version=opset,
                          input_names=["pos", "feats", "ptr"], output_names=names)
    except Exception as err:  # noqa: BLE001 - exporter failures are model limitations
        raise DataError(f"ONNX export of this model failed: {str(err).splitlines()[0][:200]}") from None
    got = []
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed_names = [i.name for i in sess.get_inputs()]
        for b in (b1, b2):
            feed = {k: v.numpy() for k, v in zip(["pos", "feats", "ptr"], _inputs(b)) if k in feed_names}
            res = sess.run(None, feed)
            got.append(res if edges else res[0])
    except Exception as err:  # noqa: BLE001 - onnxruntime rejects the graph
        raise DataError(f"onnxruntime cannot run the exported model: {str(err).splitlines()[0][:200]}") from None
    return got
