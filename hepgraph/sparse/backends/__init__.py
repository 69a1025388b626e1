"""Compute backends of the sparse convolution.

``torch`` (default): pure PyTorch gather -> matmul -> scatter, CPU and GPU.
``minkowski``: MinkowskiEngine 0.5.4 where installed (``hepgraph/sparse/backends/minkowski.py``
is the only module importing it).

A backend module exposes ``convolution(x, weight, bias, kernel_size, stride, dilation, mode)``
with the semantics of :func:`hepgraph.sparse.functional.convolution`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hepgraph.errors import UnknownNameError

BACKENDS = {
    "torch": "hepgraph.sparse.backends.torch",
    "minkowski": "hepgraph.sparse.backends.minkowski",
}
_current = "torch"


def _check(name: str) -> None:
    if name not in BACKENDS:
        raise UnknownNameError(
            f"sparse backend `{name}` is unknown; valid backends: {sorted(BACKENDS)}"
        )


def get_backend(name: str | None = None) -> ModuleType:
    """The backend module called ``name`` (default: the current backend)."""
    name = _current if name is None else name
    _check(name)
    module = importlib.import_module(BACKENDS[name])
    module.require()
    return module


def set_backend(name: str) -> None:
    """Select the default sparse backend for every layer without an explicit ``backend=``.

    Args:
        name: ``torch`` or ``minkowski``.

    Raises:
        UnknownNameError: unknown name.
        MissingDependencyError: the backend's library is not installed.
    """
    global _current
    get_backend(name)
    _current = name


def current_backend() -> str:
    """Name of the current default backend."""
    return _current
