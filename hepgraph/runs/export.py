"""``hepgraph export``: a trained model as ONNX or TorchScript for any batch, checked against PyTorch.

The exported graph takes plain tensors with dynamic sizes (``N`` hits, ``B`` events, ``E``
edges) and returns ``out``:

- ``pos`` (N, 3) float32 mm, ``feats`` (N, C) float32 (the run's feature spec applied, see
  the ONNX metadata), ``ptr`` (B+1,) int64 event offsets (rows sorted by event);
- one (N,) input per dataset column the model reads (``layer`` for the layers graph);
- ``edge_index`` (2, E) int64 for models that use the run's graph method (edge-level
  models, ``gatv2``, ``interaction-network``): the graph is built outside, exactly as in
  training (:func:`hepgraph.represent.graph.build_edges` with the method and keyword
  arguments stored in the metadata), as deployed tracking GNNs do;
- ``out``: (B, C) per event, (N, C) per hit or (E, C) per edge.

Graph models that search neighbours inside the network (``edgeconv``, ``gravnet``,
``point-transformer``) carry a vectorised kNN (:mod:`hepgraph.represent.traced`) whose
memory grows as N^2 (feed large events one at a time). Sparse convolutional models are
refused (:data:`REFUSED`). Every export is run in PyTorch and in the exported form
(onnxruntime for ONNX) on three batches of different numbers of events and hits, and is
written only when all outputs agree.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hepgraph import __version__
from hepgraph.atomic import atomic_file, refuse_existing
from hepgraph.errors import ConfigError, DataError, MissingDependencyError, setting
from hepgraph.events.hitbatch import HitBatch, collate_events
from hepgraph.represent.traced import dense_knn
from hepgraph.runs.load import LoadedRun, checkpoint_path, load_run

FORMATS = ("onnx", "torchscript")

#: Model families that cannot be exported, and why (one line each).
REFUSED = {
    "sparse": "its sparse convolutions build kernel maps from the voxel coordinates of each "
              "input (hashing, sorting and searchsorted at every stride): ONNX has no such ops and "
              "a trace would freeze the maps of the trace batch; run it with `hepgraph predict` "
              "(PyTorch) instead",
}


class ExportWrapper(nn.Module):
    """Tensor-in/tensor-out view of a HitBatch model, for any number of events and hits.

    Args:
        model: the HitBatch model.
        columns: per-hit dataset columns passed as extra inputs (after ``ptr``).
        edges_in: whether ``edge_index`` is the last input.

    Shapes:
        - **pos:** (N, 3)  - **feats:** (N, C)  - **ptr:** (B+1,)  - **columns:** (N,) each
        - **edge_index:** (2, E)  - **out:** (B | N | E, out_channels)
    """

    def __init__(self, model: nn.Module, columns: tuple[str, ...] = (), edges_in: bool = False) -> None:
        super().__init__()
        self.model, self.columns, self.edges_in = model, tuple(columns), edges_in

    def forward(self, pos: Tensor, feats: Tensor, ptr: Tensor, *extra: Tensor) -> Tensor:
        """Run the model on the batch the tensors describe; returns ``out``."""
        b = ptr.shape[0] - 1  # traced: the number of events stays dynamic
        hit = dict(zip(self.columns, extra))
        ei = extra[len(self.columns)] if self.edges_in else None
        batch = HitBatch(pos=pos, feats=feats, ptr=ptr, batch_size=b,  # type: ignore[arg-type]
                         event_id=torch.zeros_like(ptr[1:]), hit=hit, edge_index=ei)
        return self.model(batch)["out"]

    def extra_repr(self) -> str:
        return f"columns={self.columns}, edges_in={self.edges_in}"


def batch_sizes(events: int) -> tuple[int, int, int]:
    """Events in the three check batches: ``events``, 1 and ``events + 2`` (1, 2, 3 for 1)."""
    return (1, 2, 3) if events <= 1 else (events, 1, events + 2)


def sample_batches(loaded: LoadedRun, data: str | Path | None, events: int, hits: int,
                   columns: tuple[str, ...] = (), seed: int = 0) -> list[HitBatch]:
    """Three batches of different sizes: real events from ``data`` or synthetic hits in ``extent``.

    Args:
        loaded: the run (feature spec, ``model.extent``).
        data: dataset directory; ``None`` = synthetic events of ``hits / 2 .. 2 hits`` hits
            uniform in the model's ``extent`` (mm), features uniform in [0.1, 2].
        events: events of the first batch (see :func:`batch_sizes`).
        hits: typical hits per synthetic event.
        columns: per-hit dataset columns the model reads (synthetic: integers 0..7).
        seed: seed of the synthetic values.

    Raises:
        DataError: ``data`` has too few events or lacks a column the model reads.
    """
    sizes = batch_sizes(events)
    if data is not None:
        from hepgraph.store.dataset import EventDataset

        ds = EventDataset(data)
        if len(ds) < sum(sizes):
            raise DataError(f"dataset `{data}` has {len(ds)} events; the export check needs "
                            f"{sum(sizes)} (batches of {', '.join(map(str, sizes))} events)")
        first = ds[0]
        missing = [c for c in columns if c not in first]
        if missing:
            raise DataError(f"the model reads the hit column `{missing[0]}`, which dataset `{data}` "
                            f"lacks; export with a dataset that has it (the one the run trained on)")
        starts = np.cumsum((0, *sizes))
        return [collate_events([ds[i] for i in range(a, a + n)], loaded.features)
                for a, n in zip(starts, sizes)]
    ext = loaded.config.model.kwargs.get("extent") or [[-100.0, 100.0]] * 3
    rng = np.random.default_rng(seed)
    out, eid = [], 0
    for n_ev in sizes:
        evs = []
        for _ in range(n_ev):
            n = int(rng.integers(max(1, hits // 2), 2 * hits + 1))
            ev: dict[str, Any] = {"event_id": eid}
            eid += 1
            for c, (lo, hi) in zip("xyz", ext):
                ev[c] = rng.uniform(lo, hi, n).astype(np.float32)
            for c in columns:
                ev[c] = rng.integers(0, 8, n).astype(np.int32)
            for name in loaded.features.names:
                if name not in ev:
                    ev[name] = rng.uniform(0.1, 2.0, n).astype(np.float32)
            evs.append(ev)
        out.append(collate_events(evs, loaded.features))
    return out


def _uses_edges(model: nn.Module, batch: HitBatch) -> tuple[bool, Tensor]:
    """Whether ``model`` asks for the run's graph (``HitModel.edges``); also its output on ``batch``."""
    called: list[bool] = []
    own = getattr(model, "edges", None)
    if callable(own):
        def record(b: HitBatch) -> Tensor:
            called.append(True)
            return own(b)

        model.__dict__["edges"] = record  # an instance attribute shadows the method
    try:
        with torch.no_grad():
            out = model(batch)["out"]
    finally:
        model.__dict__.pop("edges", None)
    return bool(called), out


def _inputs(model: nn.Module, b: HitBatch, columns: tuple[str, ...], edges_in: bool) -> tuple[Tensor, ...]:
    cols = tuple(b.hit[c] for c in columns)
    if not edges_in:
        return (b.pos, b.feats, b.ptr, *cols)
    with torch.no_grad():
        ei = model.edges(b)  # type: ignore[operator]
    return (b.pos, b.feats, b.ptr, *cols, ei)


def _max_diff(got: Any, ref: Any, rtol: float = 0.0) -> float:
    """max |got - ref| - rtol |ref| (0 for empty outputs, inf for a shape mismatch)."""
    x, y = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if x.shape != y.shape:
        return float("inf")
    return float(np.max(np.abs(x - y) - rtol * np.abs(y))) if x.size else 0.0


def _rows_off(got: list[Any], refs: list[Any], atol: float, rtol: float) -> tuple[int, int]:
    """Output rows differing by more than ``atol + rtol |ref|``, and all rows."""
    off = rows = 0
    for g, r in zip(got, refs):
        g, r = np.asarray(g, np.float64), np.asarray(r, np.float64)
        rows += len(r)
        if g.shape != r.shape:
            off += len(r)
        elif r.size:
            bad = np.abs(g - r) > atol + rtol * np.abs(r)
            off += int(bad.reshape(len(r), -1).any(1).sum())
    return off, rows


def _has_knn(model: nn.Module) -> bool:
    """Whether the model searches neighbours inside (a ``k`` hyperparameter on some module)."""
    return any(isinstance(getattr(m, "k", None), int) for m in model.modules())


def _family(loaded: LoadedRun) -> tuple[str, str]:
    """The run's model name and its registered family (``dense``, ``sparse``, ``graph``, ...)."""
    from hepgraph.models.factory import model_info

    name = loaded.config.model.name or ""
    return name, str(model_info(name).get("family", ""))


def _refuse_own_files(out: Path, run: str | Path) -> None:
    """Raise when ``out`` is the run's checkpoint or lies among its checkpoints."""
    ckpt = checkpoint_path(run).resolve()
    target = out.resolve()
    in_dir = ckpt.parent.name == "checkpoints" and ckpt.parent in target.parents
    if target == ckpt or in_dir:
        raise ConfigError(f"export output `{out}` would replace the run's checkpoints in "
                          f"`{ckpt.parent}`; write the export elsewhere (e.g. RUN/model.onnx)")


def export(run: str | Path, fmt: str, out: str | Path, *, data: str | Path | None = None,
           events: int = 2, hits: int = 64, atol: float = 1e-4, rtol: float = 1e-3,
           opset: int = 18, overwrite: bool = False) -> dict[str, Any]:
    """Export a run's model and check it reproduces PyTorch on three batches of other sizes.

    Args:
        run: run directory or checkpoint.
        fmt: ``onnx`` or ``torchscript``.
        out: output file, written through a temporary sibling and renamed at the end.
        data: dataset for the check batches (default: synthetic hits inside ``extent``).
        events: events of the first check batch (the others have 1 and ``events + 2``).
        hits: typical hits per synthetic event.
        atol: allowed absolute difference (on top of ``rtol`` times the PyTorch value).
        rtol: allowed relative difference.
        opset: ONNX opset.
        overwrite: replace an existing ``out`` (never the run's own checkpoints).

    Returns:
        ``{"format", "path", "inputs", "level", "max_abs_diff", "checked_batches", "batches",
        "tie_diff"}``: ``batches`` the (events, hits) of each check batch; ``tie_diff`` how much
        the model's default neighbour search (which may pick other neighbours at equal
        distance than the export's row order) changes the outputs on them.

    Raises:
        ConfigError: unknown format, or ``out`` is one of the run's checkpoints.
        OutputExistsError: ``out`` exists and ``overwrite`` is false.
        DataError: the model cannot be exported, or the export does not reproduce PyTorch.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format `{fmt}`; valid: {', '.join(FORMATS)}")
    if fmt == "onnx":
        check_onnx_dependencies()
    out = Path(out)
    _refuse_own_files(out, run)
    refuse_existing(out, overwrite, "export output")
    loaded = load_run(run, "cpu")
    name, family = _family(loaded)
    if family in REFUSED:
        raise DataError(f"model `{name}` cannot be exported to {fmt}: {REFUSED[family]}")
    model = loaded.model.eval()
    columns = tuple(getattr(model, "data_columns", ()))
    batches = sample_batches(loaded, data, events, hits, columns)
    probe = [_uses_edges(model, b) for b in batches]  # outputs as `hepgraph predict` gives them
    edges_in = any(p[0] for p in probe)
    wrapper = ExportWrapper(model, columns, edges_in).eval()
    feeds = [_inputs(model, b, columns, edges_in) for b in batches]
    # the reference: the same model with the exported kNN (neighbours at equal distance in
    # row order) and the fed edges
    with dense_knn(), torch.no_grad():
        refs = [model(replace(b, edge_index=f[-1] if edges_in else None))["out"].numpy()
                for b, f in zip(batches, feeds)]
    tie_diff = max(_max_diff(p[1].numpy(), r) for p, r in zip(probe, refs))
    names = ["pos", "feats", "ptr", *columns, *(["edge_index"] if edges_in else [])]
    level = str(getattr(model, "level", loaded.task.level))
    with atomic_file(out, overwrite=overwrite, what="export output") as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            if fmt == "torchscript":
                got = _torchscript(wrapper, feeds, tmp)
            else:
                from hepgraph.runs.onnx_export import export_onnx

                meta = _metadata(loaded, name, edges_in, level)
                got, names = export_onnx(wrapper, feeds, names, level, tmp, opset, meta)
        diff = max(_max_diff(g, r) for g, r in zip(got, refs))
        excess = max(_max_diff(g, r, rtol) for g, r in zip(got, refs))
        if not excess <= atol:
            shapes = ", ".join(f"{b.batch_size} events/{b.num_hits} hits" for b in batches)
            off, rows = _rows_off(got, refs, atol, rtol)
            hint = (" (a kNN in feature space can pick other neighbours at nearly equal distance "
                    f"when onnxruntime rounds differently; pass a larger {setting('atol')} to accept it)"
                    if off * 20 < rows and not edges_in and _has_knn(model) else "")
            raise DataError(f"the exported {fmt} model of `{name}` differs from PyTorch by {diff:.3g} "
                            f"in {off} of {rows} output rows (allowed {atol} + {rtol} x |value|) on "
                            f"batches of {shapes}; it cannot be exported faithfully{hint}")
    return {"format": fmt, "path": str(out), "inputs": names, "level": level,
            "max_abs_diff": diff, "checked_batches": len(batches), "tie_diff": tie_diff,
            "batches": [(b.batch_size, b.num_hits) for b in batches]}


def _torchscript(wrapper: nn.Module, feeds: list[tuple[Tensor, ...]], path: Path) -> list[np.ndarray]:
    """Trace on the first batch, save, reload and run the reloaded module on every batch."""
    try:
        traced = torch.jit.trace(wrapper, feeds[0], check_trace=False)
        traced.save(str(path))
        mod = torch.jit.load(str(path))
        return [mod(*f).numpy() for f in feeds]
    except Exception as err:  # noqa: BLE001 - tracer failures are model limitations
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise DataError(f"TorchScript export of this model failed: {first}") from None


def _metadata(loaded: LoadedRun, name: str, edges_in: bool, level: str) -> dict[str, str]:
    """What a deployment needs to prepare inputs and read outputs (ONNX metadata_props)."""
    m = loaded.model
    meta = {
        "hepgraph_version": __version__, "model": name, "task": loaded.task.name, "level": level,
        "units": "pos: mm; feats: the feature spec applied",
        "features": json.dumps(loaded.features.to_list()),
    }
    names = getattr(loaded.task, "names", None)
    if callable(names):
        try:
            meta["classes"] = json.dumps(list(names()))
        except Exception:  # noqa: BLE001 - regression tasks have no class names
            pass
    if edges_in:
        meta["graph"] = json.dumps({"method": getattr(m, "graph", None),
                                    "kwargs": getattr(m, "graph_kwargs", {})})
    return meta


def check_onnx_dependencies() -> None:
    """Raise :class:`MissingDependencyError` when onnx or onnxruntime is missing."""
    import importlib.util

    for mod in ("onnx", "onnxruntime"):
        if importlib.util.find_spec(mod) is None:
            raise MissingDependencyError(f"ONNX export needs onnx and onnxruntime (`{mod}` is "
                                         "missing): pip install hepgraph[onnx]")
