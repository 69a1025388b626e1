"""hepgraph: machine learning on particle-detector hits.

Hits stay what they are (sparse point clouds and graphs); the same events can be
rendered as dense images, so sparse CNNs, GNNs, point transformers and dense CNN
baselines are compared on identical data.

>>> import hepgraph
>>> ds = hepgraph.open_dataset("my_dataset")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.store.dataset import EventDataset

__all__ = ["__version__", "open_dataset"]


def open_dataset(path: Any, **kwargs: Any) -> EventDataset:
    """Open a dataset directory written by ``hepgraph build-dataset``.

    Args:
        path: the dataset directory (holding ``manifest.json``).
        **kwargs: passed to :class:`hepgraph.store.dataset.EventDataset`.

    Returns:
        A ``torch.utils.data.Dataset`` of events with random access by index.
    """
    from hepgraph.store.dataset import EventDataset

    return EventDataset(path, **kwargs)
