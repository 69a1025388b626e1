"""Sparse convolution on :class:`~hepgraph.sparse.SparseTensor`, dispatched to a backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from torch import Tensor

from hepgraph.errors import ConfigError
from hepgraph.sparse.backends import get_backend

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.sparse.tensor import SparseTensor

MODES = ("subm", "down", "up")


def convolution(
    x: SparseTensor,
    weight: Tensor,
    bias: Tensor | None,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    mode: str,
    backend: str | None = None,
) -> SparseTensor:
    """Sparse convolution of ``x``.

    Modes: ``subm`` (output sites = input sites, stride 1), ``down`` (strided: output sites
    ``unique(floor(coords / stride))``, tensor stride multiplied) and ``up`` (transposed:
    back to the finer coordinate set, tensor stride divided). For each output site ``o``
    and kernel index ``j`` the input site is ``o * stride + dilation * (j - (k - 1) // 2)``,
    i.e. ``F.conv{D}d(..., stride, padding=dilation * ((k - 1) // 2), dilation)`` restricted to
    the output sites (and the transposed pairs for ``up``).

    Args:
        x: input tensor with C_in channels.
        weight: (K, C_in, C_out) with K = prod(kernel_size) in ``F.conv`` kernel order.
        bias: optional (C_out,).
        kernel_size: D kernel sizes.
        stride: D strides (all 1 for ``subm``).
        dilation: D dilations.
        mode: ``subm``, ``down`` or ``up``.
        backend: backend name; default the current one (:func:`hepgraph.sparse.set_backend`).

    Returns:
        The output SparseTensor with C_out channels.
    """
    if mode not in MODES:
        raise ConfigError(f"convolution `mode={mode!r}` is not one of {list(MODES)}")
    return get_backend(backend).convolution(
        x, weight, bias, tuple(kernel_size), tuple(stride), tuple(dilation), mode
    )
