"""Hit clustering into track candidates: classic (DBSCAN, HDBSCAN, Hough) and learned
(edge-classifier post-processing, object condensation), plus track fits.

The registering modules are imported here so that ``hepgraph.registry.CLUSTERERS`` is filled;
scikit-learn, scipy and torch are imported inside functions.

>>> from hepgraph.registry import CLUSTERERS
>>> import hepgraph.cluster
>>> CLUSTERERS.build({"name": "dbscan", "eps": 20.0})
DBSCANClusterer(min_hits=3, detector='generic', space='xyz', eps=20.0, min_samples=3, curvature=0.0, z_scale=1.0)
"""

from __future__ import annotations

# each module registers its clusterers in CLUSTERERS when imported
from hepgraph.cluster import condensation, density, graph, hough  # noqa: F401
from hepgraph.cluster import cell_paths, drift_circles  # noqa: F401
from hepgraph.cluster.base import Clusterer, compact_labels, event_arrays, positions

__all__ = ["Clusterer", "compact_labels", "event_arrays", "positions"]

from hepgraph.api import callable_package  # noqa: E402

callable_package(__name__, "cluster")  # hepgraph.cluster(data, method=...) is hepgraph.api.cluster
