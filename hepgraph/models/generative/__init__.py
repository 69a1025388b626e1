"""Generative models of detector response: a track's clusters given its particle.

Registered in :data:`hepgraph.registry.MODELS` with family ``generative`` and level
``generate`` (trained with ``hepgraph train --task generate``): ``cond-gan`` (the seed's
conditional GAN) and ``flow-matching`` (conditional flow matching).
"""

from __future__ import annotations

# each module registers its models in MODELS when imported
from hepgraph.models.generative import cgan, flow  # noqa: F401
from hepgraph.models.generative.base import TrackGenerator

__all__ = ["TrackGenerator"]
