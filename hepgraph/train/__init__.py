"""Training: the loop, optimisers and schedules, distributed; writes a run directory
(:mod:`hepgraph.runs`). Calling the package, ``hepgraph.train(data, out, model=...)``, is
:func:`hepgraph.api.train`.

>>> from hepgraph.train import resolve, run                                   # doctest: +SKIP
>>> cfg = resolve(None, {"data.train": "ds", "model.name": "mlp", "task.name": "regression"}, [])
>>> run(cfg, "runs/r1")                                                       # doctest: +SKIP
"""

from __future__ import annotations

from hepgraph.api import callable_package
from hepgraph.train import optim  # noqa: F401  (fills OPTIMIZERS and SCHEDULERS)
from hepgraph.runs.config import RunConfig, validate
from hepgraph.train.run import resolve, run

__all__ = ["RunConfig", "resolve", "run", "validate"]

callable_package(__name__, "train")
