"""Generative fast simulation: learn p(clusters | particle) and score it against the simulator.

The ``generate`` task trains a generator model (family ``generative``: ``cond-gan``,
``flow-matching``) on the tracks of a dataset, one track per event. The model returns its
per-event loss, and in evaluation one generated track per event for that event's particle;
the task scores generated against simulated clusters of the same particles:

- the distance of each cluster to the particle's ideal helix (no material), mean and
  median, mm (the seed's figure: GEANT3 1.20 mm, condDCGAN+ 136.8 mm), for both;
- Wasserstein-1 distances between generated and simulated distributions of that
  distance, the cluster charge (dE/dx sample), the truncated-mean charge per track (70 %,
  the particle-identification estimator) and the clusters per track;
- ``fidelity``: the mean of those distances, each divided by the simulator's standard
  deviation of the quantity (0 = indistinguishable; the checkpoint criterion).

The field (``extra.field_T``, ``extra.field_axis``) and the detector description come from
the training manifest and are stored with the task, so ``hepgraph generate`` writes
datasets that describe the same detector.

YAML::

    task: {name: generate}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from torch import Tensor

from hepgraph.errors import ConfigError, DataError
from hepgraph.events.hitbatch import HitBatch
from hepgraph.metrics.generative import helix_distance, wasserstein
from hepgraph.registry import TASKS
from hepgraph.tasks.base import Arrays, Task, require_columns, to_numpy

#: Per-cluster and per-track quantities compared between generator and simulator.
QUANTITIES = ("helix", "charge", "dedx", "clusters")


def truncated_mean(q: np.ndarray, keep: float = 0.7) -> float:
    """Mean of the lowest ``keep`` fraction of a track's cluster charges (NaN if none)."""
    q = np.sort(np.asarray(q, np.float64))
    n = int(np.ceil(keep * q.size))
    return float(q[:n].mean()) if n else float("nan")


@TASKS.register("generate", level="generate")
class GenerateTask(Task):
    """Train and score a conditional generator of a track's clusters (module docstring).

    Args:
        field_T: magnetic field (T) for the ideal helix (default: the manifest's).
        field_axis: the field's direction, ``x``, ``y`` or ``z`` (default: the manifest's, else z).
        detector: the training manifest's ``extra`` (geometry), kept for generated datasets.
        default_features: the training manifest's default feature spec.
        units: unit overrides of the training manifest (``charge``).
    """

    name = "generate"
    level = "generate"
    headline = ("fidelity", "min")

    def __init__(self, field_T: float | None = None, field_axis: str | None = None,
                 detector: Mapping[str, Any] | None = None, default_features: list[Any] | None = None,
                 units: Mapping[str, str] | None = None) -> None:
        super().__init__()
        if field_axis is not None and field_axis not in ("x", "y", "z"):
            raise ConfigError(f"task.field_axis `{field_axis}` is not one of x, y, z")
        self.field_T = None if field_T is None else float(field_T)
        self.field_axis = field_axis
        self.detector = dict(detector or {})
        self.default_features = default_features
        self.units = dict(units or {})

    @property
    def out_channels(self) -> int:
        return 1

    def check(self, manifest: Mapping[str, Any]) -> None:
        require_columns(manifest, ["x", "y", "z", "track_id", "particle_id", "particle_px", "particle_py",
                                   "particle_pz", "particle_q", "particle_pdg", "particle_vx", "particle_vy",
                                   "particle_vz"], self.name)
        extra = manifest.get("extra") or {}
        if self.field_T is None:
            self.field_T = float(extra.get("field_T") or 0.0)
        if self.field_axis is None:
            self.field_axis = str(extra.get("field_axis", "z"))
        if not self.detector:
            self.detector = dict(extra)
        if self.default_features is None:
            self.default_features = manifest.get("default_features")
        if not self.units:
            self.units = {c: d.get("unit") for c, d in (manifest.get("columns") or {}).items()
                          if c == "charge" and isinstance(d, Mapping) and d.get("unit")}

    def hparams(self) -> dict[str, Any]:
        return {"field_T": self.field_T, "field_axis": self.field_axis, "detector": self.detector,
                "default_features": self.default_features, "units": self.units}

    def targets(self, batch: HitBatch) -> dict[str, Tensor]:
        return {}

    def infer(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Tensor]:
        raise ConfigError("a generator predicts no columns: write generated events with "
                          "`hepgraph generate RUN`")

    def forward(self, outputs: Mapping[str, Tensor], batch: HitBatch) -> dict[str, Any]:
        if "loss_event" not in outputs:
            raise ConfigError("task `generate` needs a generator model (family generative: cond-gan, flow-matching)")
        loss = outputs["loss_event"].float().mean()
        return {"loss": loss, "output": {k: v for k, v in outputs.items() if k != "loss_event"}, "targets": {}}

    def collect(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        out = result["output"]
        if "raw" not in out:
            return {"loss_event": np.zeros(0)}
        raw = to_numpy(out["raw"]).astype(np.float64)
        eid = to_numpy(batch.event_id)
        acc: dict[str, list[np.ndarray]] = {}
        for kind in ("gen", "sim"):
            ev = to_numpy(out[f"{kind}_event"])
            xyz = np.stack([to_numpy(out[f"{kind}:{c}"]) for c in "xyz"], 1) if f"{kind}:x" in out else None
            charge = to_numpy(out[f"{kind}:charge"]) if f"{kind}:charge" in out else None
            dist = np.full(ev.size, np.nan)
            n = np.bincount(ev, minlength=raw.shape[0])
            dedx = np.full(raw.shape[0], np.nan)
            for e in range(raw.shape[0]):
                sel = ev == e
                if not sel.any() or not np.isfinite(raw[e]).all():
                    continue
                if xyz is not None:
                    dist[sel] = helix_distance(xyz[sel], raw[e, 5:8], raw[e, :3], raw[e, 3], self.field_T or 0.0,
                                               self.field_axis or "z")
                if charge is not None:
                    dedx[e] = truncated_mean(charge[sel])
            acc[f"{kind}_helix"] = [dist]
            acc[f"{kind}_event_id"] = [eid[ev]]
            acc[f"{kind}_clusters"] = [n.astype(np.float64)]
            acc[f"{kind}_dedx"] = [dedx]
            if charge is not None:
                acc[f"{kind}_charge"] = [charge]
            if xyz is not None:
                acc[f"{kind}_xyz"] = [xyz]
        acc["raw"], acc["event_id"] = [raw], [eid]
        return {k: np.concatenate(v) for k, v in acc.items()}

    def metrics(self, acc: Mapping[str, np.ndarray]) -> dict[str, Any]:
        if "raw" not in acc:
            return {}
        out: dict[str, Any] = {}
        for kind in ("gen", "sim"):
            d = np.asarray(acc[f"{kind}_helix"])
            d = d[np.isfinite(d)]
            out[f"{kind}/helix_mean"] = float(d.mean()) if d.size else float("nan")
            out[f"{kind}/helix_median"] = float(np.median(d)) if d.size else float("nan")
            out[f"{kind}/clusters_mean"] = float(np.mean(acc[f"{kind}_clusters"]))
        norm = []
        for q in QUANTITIES:
            a, b = acc.get(f"gen_{q}"), acc.get(f"sim_{q}")
            if a is None or b is None:
                continue
            w = wasserstein(a, b)
            s = np.nanstd(np.asarray(b, np.float64))
            out[f"w1/{q}"] = w
            if np.isfinite(w) and s > 0:
                norm.append(w / s)
        out["fidelity"] = float(np.mean(norm)) if norm else float("nan")
        return out

    def predictions(self, result: Mapping[str, Any], batch: HitBatch) -> Arrays:
        raise DataError("a generator predicts no columns: write generated events with `hepgraph generate RUN`")

    def extra_repr(self) -> str:
        return f"field_T={self.field_T}, field_axis={self.field_axis!r}"
