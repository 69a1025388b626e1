"""Training tasks (registered in :data:`hepgraph.registry.TASKS`): targets, losses, metrics.

>>> from hepgraph.registry import TASKS
>>> TASKS.names()  # doctest: +NORMALIZE_WHITESPACE
['classification', 'condensation', 'edge-classification', 'regression', 'segmentation', 'track-count']
"""

from __future__ import annotations

from hepgraph._autoimport import import_submodules
from hepgraph.tasks.base import Task

import_submodules(__name__, __path__)

__all__ = ["Task"]
