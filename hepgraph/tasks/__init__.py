"""Training tasks (registered in :data:`hepgraph.registry.TASKS`): targets, losses, metrics.

>>> from hepgraph.registry import TASKS
>>> TASKS.names()  # doctest: +NORMALIZE_WHITESPACE
['binned-regression', 'classification', 'condensation', 'edge-classification', 'generate', 'regression', 'segmentation', 'track-count']
"""

from __future__ import annotations

# each module registers its tasks in TASKS when imported (listed, as PyG lists its layers)
from hepgraph.tasks import classification, condensation, edges, regression, segmentation  # noqa: F401
from hepgraph.tasks import binned, generate  # noqa: F401
from hepgraph.tasks.base import Task

__all__ = ["Task"]
