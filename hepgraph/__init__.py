"""hepgraph: machine learning on particle-detector hits.

Hits stay what they are (sparse point clouds and graphs); the same events can be rendered
as dense images, so sparse CNNs, GNNs, point transformers and dense CNN baselines are
compared on identical data.

Where to start:

- data: :func:`open_dataset` opens a dataset directory written by ``hepgraph build-dataset``
  (``ds[i]`` is one event as a dict of numpy arrays; ``ds.split("train")`` a view).
- models: :func:`list_models`, :func:`create_model`; representations of a batch of hits:
  :func:`to_graph`, :func:`to_sparse`, :func:`to_image`.
- workflows: :func:`train`, :func:`evaluate`, :func:`cluster` do what the ``hepgraph``
  commands of the same names do.

Units everywhere: lengths mm, times ns, momenta GeV, deposited energy MeV, fields T.

>>> import hepgraph
>>> ds = hepgraph.open_dataset("data/lartpc")                                # doctest: +SKIP
>>> net = hepgraph.create_model("sparse-resnet18", in_channels=1, level="event",
...                             out_channels=5)                              # doctest: +SKIP

Importing hepgraph is cheap: each name loads its module (and torch) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from hepgraph.api import cluster, evaluate, train
    from hepgraph.models.factory import create_model, list_models
    from hepgraph.represent.graph import to_graph
    from hepgraph.represent.image import to_image
    from hepgraph.represent.sparse import to_sparse
    from hepgraph.store.dataset import EventDataset

#: public name -> the module that defines it (imported on first use)
_LAZY = {
    "create_model": "hepgraph.models.factory",
    "list_models": "hepgraph.models.factory",
    "to_graph": "hepgraph.represent.graph",
    "to_sparse": "hepgraph.represent.sparse",
    "to_image": "hepgraph.represent.image",
    "evaluate": "hepgraph.api",
}

#: subpackages that are also the functions of the same name (:func:`hepgraph.api.train`, ...)
_CALLABLE_PACKAGES = ("train", "cluster")

__all__ = ["__version__", "cluster", "create_model", "evaluate", "list_models", "open_dataset",
           "to_graph", "to_image", "to_sparse", "train"]


def open_dataset(path: Any, **kwargs: Any) -> EventDataset:
    """Open a dataset directory written by ``hepgraph build-dataset``.

    Args:
        path: the dataset directory (holding ``_manifest.json`` and Parquet shards).
        **kwargs: passed to :class:`hepgraph.store.dataset.EventDataset` (``columns``,
            ``cache_row_groups``, ``verify``).

    Returns:
        A ``torch.utils.data.Dataset`` of events with random access by index.

    Raises:
        DataError: not a dataset directory, or a damaged one.
    """
    from hepgraph.store.dataset import EventDataset

    return EventDataset(path, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_PACKAGES:
        return importlib.import_module(f"hepgraph.{name}")  # callable: forwards to hepgraph.api
    if name in _LAZY:
        if name in ("create_model", "list_models"):
            importlib.import_module("hepgraph.models")  # the model zoo fills the registry
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hepgraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
