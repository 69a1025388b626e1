"""MinkowskiEngine 0.5.4 backend: the only module of hepgraph that imports MinkowskiEngine.

Select it with ``hepgraph.sparse.set_backend("minkowski")`` or ``backend="minkowski"`` on
a layer. Conventions are mapped explicitly:

- coordinates: ours at tensor stride ``S`` are ``floor(x / S)``; ME keeps the stride-1
  index space (multiples of ``S``). We insert ``coords * S`` into ME's coordinate manager
  (one per hepgraph coordinate manager, kept in ``manager.backend_state``) with our own
  output sites, so both backends produce the same sites in the same row order.
- kernel order: ME enumerates kernel offsets in its own order; the weight is permuted
  with an order probed once per (kernel_size, dilation) from ME's own kernel map.

ME 0.5.4 does ``from collections import Sequence``, removed in Python 3.10; the import
below installs ``collections.Sequence = collections.abc.Sequence`` first.
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import itertools
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from hepgraph.errors import DataError, MissingDependencyError
from hepgraph.sparse.backends.torch.hashing import kernel_offsets

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.manager import CoordinateManager
    from hepgraph.sparse.tensor import SparseTensor

INSTALL_HINT = (
    "the `minkowski` sparse backend needs MinkowskiEngine 0.5.4: apt-get install "
    "libopenblas-dev, then SETUPTOOLS_USE_DISTUTILS=stdlib pip install --no-build-isolation "
    "minkowskiengine==0.5.4 (or .ci/install_minkowski.sh); or use the default `torch` backend"
)


@functools.lru_cache(maxsize=1)
def import_minkowski() -> ModuleType:
    """Import MinkowskiEngine with the Python >= 3.10 ``collections.Sequence`` shim."""
    if not hasattr(collections, "Sequence"):
        collections.Sequence = collections.abc.Sequence  # type: ignore[attr-defined]
    try:
        import MinkowskiEngine as ME  # noqa: N817
    except ImportError as err:
        raise MissingDependencyError(INSTALL_HINT) from err
    return ME


def require() -> None:
    """Raise :class:`MissingDependencyError` if MinkowskiEngine cannot be imported."""
    import_minkowski()


@functools.lru_cache(maxsize=None)
def me_kernel_order(kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """``order[i]`` = our kernel index of ME's kernel index ``i`` (probed from ME).

    A full box of input sites around one output site at the origin is mapped by ME's
    kernel map; the input minus the output coordinate of each ME kernel index is its
    offset, looked up among ours (:func:`~hepgraph.sparse.backends.torch.hashing.kernel_offsets`).
    """
    ME = import_minkowski()
    ndim = len(kernel_size)
    ours = kernel_offsets(kernel_size, dilation).tolist()
    index = {tuple(o): j for j, o in enumerate(ours)}
    lo = [min(o[i] for o in ours) for i in range(ndim)]
    hi = [max(o[i] for o in ours) for i in range(ndim)]
    box = list(itertools.product(*[range(a - 1, b + 2) for a, b in zip(lo, hi)]))
    cm = ME.CoordinateManager(D=ndim, coordinate_map_type=ME.CoordinateMapType.CPU)
    in_key, _ = cm.insert_and_map(torch.IntTensor([[0, *p] for p in box]), [1] * ndim, "in")
    out_key, _ = cm.insert_and_map(torch.IntTensor([[0] * (ndim + 1)]), [1] * ndim, "out")
    kmap = cm.kernel_map(in_key, out_key, 1, list(kernel_size), list(dilation))
    order = [-1] * len(ours)
    for kidx, pairs in kmap.items():
        row = int(pairs[0][0]) if pairs.dim() == 2 else int(pairs[0])
        order[int(kidx)] = index[tuple(box[row])]
    if sorted(order) != list(range(len(ours))):  # pragma: no cover - ME contract changed
        raise RuntimeError(f"MinkowskiEngine kernel offsets do not match ours: {order}")
    return tuple(order)


class _State:
    """ME coordinate manager and the ME keys of our coordinate sets."""

    def __init__(self, ndim: int) -> None:
        ME = import_minkowski()
        self.cm = ME.CoordinateManager(D=ndim, coordinate_map_type=ME.CoordinateMapType.CPU)
        self.keys: dict[tuple[int, ...], tuple[Any, Tensor, Tensor]] = {}

    def key(
        self, manager: CoordinateManager, stride: tuple[int, ...]
    ) -> tuple[Any, Tensor, Tensor]:
        """(ME key, our row of each ME row, ME row of each of our rows) of a coordinate set."""
        if stride not in self.keys:
            coords = manager.coords(stride)
            s = torch.tensor((1, *stride), dtype=torch.long)
            me_coords = (coords.cpu() * s).int()
            key, (unique_map, _) = self.cm.insert_and_map(
                me_coords, list(stride), f"hepgraph{len(self.keys)}"
            )
            ours = unique_map.long()
            if ours.numel() != coords.shape[0]:  # pragma: no cover - unique input
                raise RuntimeError("MinkowskiEngine merged distinct coordinates")
            mine = torch.empty_like(ours)
            mine[ours] = torch.arange(ours.numel())
            self.keys[stride] = (key, ours, mine)
        return self.keys[stride]


def convolution(
    x: SparseTensor,
    weight: Tensor,
    bias: Tensor | None,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    mode: str,
) -> SparseTensor:
    """See :func:`hepgraph.sparse.functional.convolution` (CPU tensors only)."""
    ME = import_minkowski()
    if x.device.type != "cpu":
        raise DataError(
            f"the `minkowski` backend is built CPU-only here; got a tensor on `{x.device}`; "
            "use the `torch` backend on GPU"
        )
    m = x.manager
    if mode == "subm":
        out_stride, conv_stride = x.stride, (1,) * x.ndim
    elif mode == "down":
        out_stride, conv_stride = m.down(x.stride, stride), stride
    else:
        out_stride, conv_stride = m.up(x.stride, stride, kernel_size, dilation), stride
    state = m.backend_state.get("minkowski")
    if state is None:
        state = m.backend_state["minkowski"] = _State(x.ndim)
    in_key, in_ours, _ = state.key(m, x.stride)
    out_key, _, out_mine = state.key(m, out_stride)
    order = torch.tensor(me_kernel_order(kernel_size, dilation))
    kg = ME.KernelGenerator(
        kernel_size=list(kernel_size), stride=list(conv_stride), dilation=list(dilation),
        dimension=x.ndim,
    )
    fn = (
        ME.MinkowskiConvolutionTransposeFunction if mode == "up"
        else ME.MinkowskiConvolutionFunction
    )
    w = weight.to(x.dtype)[order].contiguous()
    from MinkowskiEngineBackend._C import ConvolutionMode

    out = fn.apply(
        x.feats[in_ours].contiguous(), w, kg, ConvolutionMode.DEFAULT, in_key, out_key, state.cm
    )
    out = out[out_mine]
    if bias is not None:
        out = out + bias
    return type(x).derived(m, out_stride, out)
