"""The model zoo: dense, sparse, graph, transformer and MLP models by registry name.

Importing this package registers every model in ``hepgraph.registry.MODELS``.
"""

from __future__ import annotations

# each module registers its models in MODELS when imported (listed, as PyG lists its layers)
from hepgraph.models import deepsets, mlp  # noqa: F401
from hepgraph.models.dense import inception, resnet, small_cnn  # noqa: F401
from hepgraph.models.factory import create_model, list_models, model_info
from hepgraph.models.generative import cgan, flow  # noqa: F401
from hepgraph.models.graph import edgeconv, gatv2, gravnet, interaction, track_gnn  # noqa: F401
from hepgraph.models.sparse import resnet as sparse_resnet  # noqa: F401
from hepgraph.models.transformer import point_transformer  # noqa: F401

__all__ = ["create_model", "list_models", "model_info"]
