"""Representations of a HitBatch: dense images, sparse tensors, graphs and point sets.

Each is built in exactly one place and registered as a transform in ``TRANSFORMS``.
"""

from __future__ import annotations

from hepgraph.represent import sparse  # noqa: F401  (registers the to-sparse transform)
from hepgraph.represent.graph import to_graph
from hepgraph.represent.image import to_image
from hepgraph.represent.neighbors import knn_graph, radius_graph
from hepgraph.represent.points import to_points

__all__ = ["knn_graph", "radius_graph", "to_graph", "to_image", "to_points"]
