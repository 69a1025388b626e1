"""Hit clustering into track candidates: classic (DBSCAN, HDBSCAN, Hough) and learned
(edge-classifier post-processing, object condensation), plus track fits.

Every module is imported here so that ``hepgraph.registry.CLUSTERERS`` is filled;
scikit-learn, scipy and torch are imported inside functions.

>>> from hepgraph.registry import CLUSTERERS
>>> import hepgraph.cluster
>>> CLUSTERERS.build({"name": "dbscan", "eps": 20.0})
DBSCANClusterer(min_hits=3, detector='generic', space='xyz', eps=20.0, min_samples=3, curvature=0.0, z_scale=1.0)
"""

from __future__ import annotations

from hepgraph._autoimport import import_submodules
from hepgraph.cluster.base import Clusterer, compact_labels, event_arrays, positions

import_submodules(__name__, __path__)

__all__ = ["Clusterer", "compact_labels", "event_arrays", "positions"]
