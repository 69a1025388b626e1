"""Event regression of one or more event columns, with a predicted uncertainty.

The model predicts, per target, a standardised mean and a log-variance; targets are
standardised with the training-set mean and standard deviation (stored in the task's
buffers, hence in checkpoints). ``loss: nll`` is the Gaussian negative log-likelihood
(calibrated sigma), ``loss: mse`` ignores the variance half.

``beta`` (beta-NLL, Seitzer et al. 2022, arXiv:2203.09168) weights each target's NLL term by
``sigma^(2 beta)`` (not differentiated). With the plain NLL (``beta: 0``) a target the network
cannot fit yet gets a large sigma, which divides its gradient by sigma^2: hard targets stay
unlearned while the easy ones sharpen. ``beta: 0.5`` keeps a calibrated sigma and learns the
means of hard targets (``beta: 1`` gives the mean the gradient of the MSE).

``transforms`` regresses a function of a target instead of the target itself
(:mod:`hepgraph.tasks.target_transforms`): ``inverse`` for momenta (the network sees the
curvature ``q / p``), ``log`` for positive targets spanning decades. Means and sigmas come
back in the target's own unit; the metrics are reported for both (``<target>/...`` and
``<transform>_<target>/...``).

YAML::

    task: {name: regression, targets: [q_p_perp, theta], loss: nll, transforms: {q_p_perp: inverse}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import logging

import numpy as np
import torch
from torch import Tensor

from hepgraph.errors import ConfigError, DataError, setting
from hepgraph.events.hitbatch import HitBatch
from hepgraph.events.schema import kind_of
from hepgraph.metrics.regression import pull_stats, pulls, residual_stats
from hepgraph.registry import TASKS
from hepgraph.tasks import target_transforms as tt
from hepgraph.tasks.base import Arrays, Task, manifest_columns, to_numpy

log = logging.getLogger(__name__)

LOSSES = ("nll", "mse")
LOGVAR_CLAMP = 12.0


@TASKS.register("regression", level="event")
class RegressionTask(Task):
    """Gaussian-NLL (or MSE) regression of event targets.

    Args:
        targets: event columns to regress (``px``, ``p``, ``theta``, ...); a comma
            separated string is accepted.
        loss: ``nll`` (mean and log-variance) or ``mse``.
        mean: per-target centre of the regressed variable (set by :meth:`fit`).
        std: per-target scale of the regressed variable (set by :meth:`fit`).
        transforms: ``{target: identity | inverse | log}``: regress ``f(target)``.
        beta: beta-NLL exponent in [0, 1] (0 = the plain Gaussian NLL).

    Shapes:
        - **out:** (B, 2T): T standardised means then T log-variances
        - **targets:** (B, T) in physical units (standardised after the transform)
    """

    name = "regression"
    level = "event"
    #: best.pt by the plain Gaussian NLL of the validation events (the training loss with
    #: ``beta`` > 0 grows as sigma shrinks, so it cannot rank epochs); ``val_loss`` for ``mse``.
    headline = ("nll", "min")

    def __init__(
        self,
        targets: Sequence[str] | str | None = None,
        loss: str = "nll",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        transforms: Mapping[str, str] | None = None,
        beta: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(targets, str):
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        if loss not in LOSSES:
            raise ConfigError(f"task.loss `{loss}` is not a regression loss; valid: {', '.join(LOSSES)}")
        self.target_names = list(targets) if targets else []
        self.loss_name = loss
        if not 0.0 <= float(beta) <= 1.0:
            raise ConfigError(f"task.beta `{beta}` must be in [0, 1] (0: plain NLL, 0.5: beta-NLL)")
        self.beta = float(beta)
        if transforms is not None and not isinstance(transforms, Mapping):
            raise ConfigError(f"task.transforms `{transforms}` must map targets to transforms, "
                              f"e.g. {{p: inverse}}; valid transforms: {', '.join(tt.TRANSFORMS)}")
        self.transforms = {str(k): tt.check_transform(str(v), str(k)) for k, v in (transforms or {}).items()}
        n = len(self.target_names)
        self.register_buffer("mean", torch.tensor(mean if mean is not None else [0.0] * n, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std if std is not None else [1.0] * n, dtype=torch.float32))

    @property
    def out_channels(self) -> int:
        if not self.target_names:
            raise ConfigError(f"task `regression` needs targets: set {setting('task.targets', 'px,py,pz')}")
        return 2 * len(self.target_names)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.target_names)

    def transform_of(self, target: str) -> str:
        """The transform of one target (``identity`` when none is set)."""
        return self.transforms.get(target, "identity")

    def check(self, manifest: Mapping[str, Any]) -> None:
        have = manifest_columns(manifest)
        valid = sorted(c for c in have if kind_of(c) == "event" and c not in ("event_id", "label"))
        if not self.target_names:
            default = (manifest.get("extra") or {}).get("regression_targets")
            if not default:
                raise ConfigError(
                    f"task `regression` needs targets: set {setting('task.targets')} to some of "
                    f"{', '.join(valid) or '(none: this dataset has no event targets)'}"
                )
            self.target_names = list(default)
            n = len(self.target_names)
            self.mean, self.std = torch.zeros(n), torch.ones(n)
        for t in self.target_names:
            if t not in have or kind_of(t) != "event":
                if not valid:
                    raise DataError(
                        f"regression target `{t}`: this dataset has no event-level targets; "
                        f"choose another {setting('task.name')}"
                    )
                raise ConfigError(f"unknown regression target `{t}`; valid: {', '.join(valid)}")
        extra = sorted(set(self.transforms) - set(self.target_names))
        if extra:
            raise ConfigError(f"task.transforms names `{extra[0]}`, which is not a target; "
                              f"targets: {', '.join(self.target_names)}")

    def fit(self, sample: Mapping[str, np.ndarray]) -> None:
        """Mean and standard deviation of each (transformed) target over a training sample.

        Raises:
            DataError: NaN/infinite values, or values outside a transform's domain.
        """
        y = np.stack([tt.forward_np(self.transform_of(t), t, sample[t]) for t in self.target_names], axis=1)
        if not np.isfinite(y).all():
            raise DataError("regression targets contain NaN or infinite values")
        std = y.std(0) if len(y) > 1 else np.ones(y.shape[1])
        for name, s in zip(self.target_names, std):
            if len(y) > 1 and s == 0:  # trained on a unit scale: the network can only learn the one value
                log.warning("target `%s` is %.6g in all %d training events sampled: there is nothing to regress; "
                            "check the mapping of `%s`", name, float(np.asarray(sample[name])[0]), len(y), name)
        self.mean = torch.tensor(y.mean(0) if len(y) else np.zeros(y.shape[1]), dtype=torch.float32)
        self.std = torch.tensor(np.where(std > 0, std, 1.0), dtype=torch.float32)

    def hparams(self) -> dict[str, Any]:
        return {
            "targets": list(self.target_names),
            "loss": self.loss_name,
            "transforms": dict(self.transforms),
            "beta": self.beta,
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        missing = [t for t in self.target_names if t not in batch.event]
        if missing:
            raise DataError(f"batch has no event column(s) {missing} for task `regression`")
        y = torch.stack([batch.event[t].float() for t in self.target_names], dim=1)
        return {"y": y}

    def _split(self, outputs: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        out = outputs["out"].float()
        t = len(self.target_names)
        return out[:, :t], out[:, t : 2 * t].clamp(-LOGVAR_CLAMP, LOGVAR_CLAMP)

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        mu_s, logvar = self._split(outputs)
        u = mu_s * self.std + self.mean
        sig_u = torch.exp(0.5 * logvar) * self.std if self.loss_name == "nll" else None
        means, sigmas = [], []
        for i, t in enumerate(self.target_names):
            m, s = tt.inverse(self.transform_of(t), u[:, i], None if sig_u is None else sig_u[:, i])
            means.append(m)
            sigmas.append(s)
        output = {"mean": torch.stack(means, 1)}
        if sig_u is not None:
            output["sigma"] = torch.stack(sigmas, 1)
        return output

    def _standardised(self, y: Tensor) -> Tensor:
        """Targets (B, T) in physical units -> transformed and standardised."""
        u = torch.stack([tt.forward(self.transform_of(t), y[:, i]) for i, t in enumerate(self.target_names)], 1)
        return (u - self.mean) / self.std

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        mu_s, logvar = self._split(outputs)
        y = self.targets(batch)["y"]
        y_s = self._standardised(y)
        if self.loss_name == "nll":
            nll = 0.5 * (logvar + (y_s - mu_s) ** 2 * torch.exp(-logvar))
            if self.beta > 0:
                nll = nll * torch.exp(self.beta * logvar).detach()
            loss = nll.mean()
        else:
            loss = ((y_s - mu_s) ** 2).mean()
        return {"loss": loss, "output": self.infer(outputs, batch), "targets": {"y": y}}

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        out = {"mean": to_numpy(result["output"]["mean"]), "y": to_numpy(result["targets"]["y"])}
        if "sigma" in result["output"]:
            out["sigma"] = to_numpy(result["output"]["sigma"])
        return out

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mean, y = np.asarray(acc["mean"]), np.asarray(acc["y"])
        if "sigma" in acc and len(y):
            out["nll"] = self._nll(mean, y, np.asarray(acc["sigma"]))
        for i, t in enumerate(self.target_names):
            for k, v in residual_stats(y[:, i], mean[:, i]).items():
                out[f"{t}/{k}"] = v
            if "sigma" in acc:
                for k, v in pull_stats(pulls(y[:, i], mean[:, i], acc["sigma"][:, i])).items():
                    out[f"{t}/{k}"] = v
            name = self.transform_of(t)
            if name != "identity":  # the regressed variable: where the Gaussian NLL applies
                u_true, _ = tt.to_u_np(name, y[:, i], None)
                u, s = tt.to_u_np(name, mean[:, i], acc["sigma"][:, i] if "sigma" in acc else None)
                for k, v in residual_stats(u_true, u).items():
                    out[f"{name}_{t}/{k}"] = v
                if s is not None:
                    for k, v in pull_stats(pulls(u_true, u, s)).items():
                        out[f"{name}_{t}/{k}"] = v
        return out

    def _nll(self, mean: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> float:
        """Mean Gaussian NLL (without the constant) of every target, in the standardised
        regressed variables: the training loss with ``beta = 0``."""
        terms = []
        for i, t in enumerate(self.target_names):
            name = self.transform_of(t)
            u_true, _ = tt.to_u_np(name, y[:, i], None)
            u, s = tt.to_u_np(name, mean[:, i], sigma[:, i])
            r, s = (u - u_true) / float(self.std[i]), np.maximum(s / float(self.std[i]), 1e-12)
            terms.append(np.log(s) + 0.5 * (r / s) ** 2)
        v = np.concatenate(terms)
        return float(np.mean(v[np.isfinite(v)])) if np.isfinite(v).any() else float("nan")

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        cols: Arrays = {"event_id": to_numpy(batch.event_id)}
        mean = to_numpy(result["output"]["mean"])
        sigma = to_numpy(result["output"]["sigma"]) if "sigma" in result["output"] else None
        for i, t in enumerate(self.target_names):
            cols[f"pred_{t}"] = mean[:, i]
            if sigma is not None:
                cols[f"sigma_{t}"] = sigma[:, i]
        return cols
