from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError, DataError
from hepgraph.tasks.generate import GenerateTask, truncated_mean


def test_truncated_mean_by_hand():
    assert truncated_mean(np.array([5.0, 1.0, 2.0, 3.0, 100.0])) == pytest.approx(np.mean([1, 2, 3, 5]))


def _outputs(batch_size=2):
    """Two straight tracks along z from the origin (no field), 5 clusters each; the generator
    reproduces the first and shifts the second sideways by 2 mm."""
    z = np.tile(np.arange(1.0, 6.0) * 10, batch_size)
    ev = np.repeat(np.arange(batch_size), 5)
    sim = {"x": np.zeros(10), "y": np.zeros(10), "z": z, "charge": np.arange(1.0, 11.0)}
    gen = {**sim, "x": np.where(ev == 1, 2.0, 0.0)}
    out = {"gen_event": torch.as_tensor(ev), "sim_event": torch.as_tensor(ev),
           "raw": torch.tensor([[0.0, 0.0, 1.0, 1.0, 13.0, 0.0, 0.0, 0.0]] * batch_size, dtype=torch.float64)}
    for c in sim:
        out[f"gen:{c}"], out[f"sim:{c}"] = torch.as_tensor(gen[c]), torch.as_tensor(sim[c])
    return out


def test_metrics_score_the_generator_against_the_simulator(toy_batch):
    task = GenerateTask(field_T=0.0, field_axis="z")
    res = task({"loss_event": torch.tensor([1.0, 3.0]), **_outputs()}, toy_batch)
    assert float(res["loss"]) == 2.0
    batch = type(toy_batch)(**{**toy_batch.__dict__, "event_id": torch.tensor([7, 9]), "batch_size": 2,
                               "ptr": torch.tensor([0, 0, toy_batch.num_hits])})
    m = task.metrics(task.collect(res, batch))
    assert m["sim/helix_mean"] == pytest.approx(0.0, abs=1e-9)
    assert m["gen/helix_mean"] == pytest.approx(1.0)                     # 5 x 0 mm, 5 x 2 mm
    assert m["gen/helix_median"] == pytest.approx(1.0) and m["w1/charge"] == 0.0
    assert m["w1/helix"] == pytest.approx(1.0) and m["w1/clusters"] == 0.0
    assert m["fidelity"] > 0


def test_generate_task_needs_particles_and_makes_no_predictions(toy_manifest, toy_batch):
    with pytest.raises(DataError, match="particle"):
        GenerateTask().check(toy_manifest)
    with pytest.raises(ConfigError, match="hepgraph generate"):
        GenerateTask().infer({}, toy_batch)
    with pytest.raises(ConfigError, match="generator model"):
        GenerateTask()({"out": torch.zeros(4, 1)}, toy_batch)
