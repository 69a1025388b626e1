"""Representations of a HitBatch: dense images, sparse tensors, graphs and point sets.

Each is built in exactly one place: ``to_image``, ``to_sparse``, ``to_graph``, ``to_points``.
"""

from __future__ import annotations

from hepgraph.represent.graph import to_graph
from hepgraph.represent.image import to_image
from hepgraph.represent.neighbors import knn_graph, radius_graph
from hepgraph.represent.points import to_points
from hepgraph.represent.sparse import to_sparse

__all__ = ["knn_graph", "radius_graph", "to_graph", "to_image", "to_points", "to_sparse"]
