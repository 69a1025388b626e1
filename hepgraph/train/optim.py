"""Optimizers and learning-rate schedulers by name (``OPTIMIZERS``, ``SCHEDULERS``).

Optimizer factories take ``(params, lr, weight_decay, **kwargs)``. Scheduler factories
take ``(optimizer, epochs, steps_per_epoch, **kwargs)`` and return a :class:`Schedule`
that says whether it steps after every batch or every epoch (on the validation loss
for ``plateau``).

YAML::

    train: {optimizer: {name: sgd, momentum: 0.9}, scheduler: {name: plateau, patience: 2}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hepgraph.registry import OPTIMIZERS, SCHEDULERS


@OPTIMIZERS.register("adam")
def adam(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> torch.optim.Optimizer:
    """Adam (L2 weight decay)."""
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)


@OPTIMIZERS.register("adamw")
def adamw(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0,
          betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay)."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps)


@OPTIMIZERS.register("sgd")
def sgd(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0,
        momentum: float = 0.9, nesterov: bool = False) -> torch.optim.Optimizer:
    """SGD with momentum."""
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=momentum,
                           nesterov=nesterov)


#: Scheduler attributes that set the schedule's length (kept when resuming a longer run).
HORIZON_KEYS = ("T_max", "total_steps", "_schedule_phases")


@dataclass
class Schedule:
    """A scheduler plus when to step it.

    Attributes:
        scheduler: the torch scheduler.
        interval: ``step`` (after every optimizer step) or ``epoch``.
        on_metric: step with the validation loss (ReduceLROnPlateau).
    """

    scheduler: Any
    interval: str = "step"
    on_metric: bool = False

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state."""
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the scheduler's state, keeping this schedule's length.

        A run resumed with more epochs (or steps per epoch) was built with a longer schedule:
        its horizon (``T_max``, ``total_steps``) is kept, so the run continues on the longer
        curve as if it had been planned from the start, instead of staying at the end of the
        old one (a finished cosine would train on at ``eta_min``).
        """
        sched = self.scheduler
        fresh = {k: getattr(sched, k) for k in HORIZON_KEYS if hasattr(sched, k)}
        sched.load_state_dict(state)
        changed = any(state.get(k) != v for k, v in fresh.items())
        for k, v in fresh.items():
            setattr(sched, k, v)
        if changed and isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR):
            # the cosine scheduler updates the lr recursively from the last one: set it in
            # closed form at the current step of the new schedule
            t = min(sched.last_epoch, sched.T_max)
            lrs = [sched.eta_min + (base - sched.eta_min) * (1 + math.cos(math.pi * t / sched.T_max)) / 2
                   for base in sched.base_lrs]
            for group, lr in zip(sched.optimizer.param_groups, lrs):
                group["lr"] = lr


@SCHEDULERS.register("plateau")
def plateau(optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
            factor: float = 0.5, patience: int = 2, min_lr: float = 0.0) -> Schedule:
    """ReduceLROnPlateau on the validation loss, checked once per epoch."""
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=factor,
                                                   patience=patience, min_lr=min_lr)
    return Schedule(s, "epoch", on_metric=True)


@SCHEDULERS.register("cosine")
def cosine(optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
           eta_min: float = 0.0) -> Schedule:
    """Cosine annealing from ``lr`` to ``eta_min`` over the whole run (per step)."""
    total = max(1, epochs * steps_per_epoch)
    return Schedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total, eta_min=eta_min))


@SCHEDULERS.register("onecycle")
def onecycle(optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
             pct_start: float = 0.3, div_factor: float = 25.0,
             final_div_factor: float = 1.0e4) -> Schedule:
    """One-cycle policy peaking at ``lr`` (per step)."""
    max_lr = [g["lr"] for g in optimizer.param_groups]
    s = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=max(2, epochs * steps_per_epoch), pct_start=pct_start,
        div_factor=div_factor, final_div_factor=final_div_factor, cycle_momentum=False,
    )
    return Schedule(s)


SCHEDULER_INJECTED = ("optimizer", "epochs", "steps_per_epoch")
OPTIMIZER_INJECTED = ("params", "lr", "weight_decay")
