"""Type aliases and optional-dependency flags (no optional import happens here)."""

from __future__ import annotations

import importlib.util
from typing import Optional

from torch import Tensor

OptTensor = Optional[Tensor]
EdgeIndex = Tensor  # (2, E) int64
Coords = Tensor  # (N, 1 + D) int64, batch index in column 0


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


WITH_UPROOT = _has("uproot")
WITH_AWKWARD = _has("awkward")
WITH_MINKOWSKI = _has("MinkowskiEngine")
WITH_DASK = _has("dask") and _has("distributed")
WITH_ONNXRUNTIME = _has("onnxruntime")
