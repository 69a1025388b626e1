"""The model zoo: dense, sparse, graph, transformer and MLP models by registry name.

Importing this package registers every model in ``hepgraph.registry.MODELS``.
"""

from __future__ import annotations

from hepgraph._autoimport import import_submodules
from hepgraph.models.factory import create_model, list_models, model_info

import_submodules(__name__, __path__)

__all__ = ["create_model", "list_models", "model_info"]
