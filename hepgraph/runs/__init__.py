"""A run directory: its config, checkpoints, and what reads them back (load, evaluate,
predict, export). Training (:mod:`hepgraph.train`) writes run directories; everything else
that uses a trained model reads them through this package.
"""

from __future__ import annotations
