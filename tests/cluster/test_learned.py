from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.cluster.graph import GNNClusterer
from hepgraph.cluster.condensation import CondensationClusterer
from hepgraph.cluster.learned import build_clusterer, run_model
from hepgraph.errors import ConfigError, DataError

EVENT = {"x": np.array([100.0, 200.0, 300.0, 0.0]), "y": np.array([0.0, 0.0, 0.0, 100.0]),
         "z": np.zeros(4), "charge": np.ones(4, np.float32)}


class _EdgeModel(torch.nn.Module):
    """Scores a fixed chain 0-1-2 high and 2-3 low (logits)."""

    def forward(self, batch):
        return {"out": torch.tensor([[5.0], [5.0], [-5.0]]), "edge_index": torch.tensor([[0, 1, 2], [1, 2, 3]])}


class _OCModel(torch.nn.Module):
    def forward(self, batch):
        x = batch.pos[:, :1] / 100.0  # 1-D clustering space: x in units of 100 mm
        beta = torch.tensor([[-5.0], [5.0], [-5.0], [5.0]])
        return {"out": torch.cat([x, beta], 1)}


def test_manifest_defaults():
    m = {"source": {"name": "sim-drift-chamber"}, "extra": {"field_T": 1.5}}
    h = build_clusterer("hough", manifest=m)
    assert h.detector == "sim-drift-chamber" and h.field_T == 1.5 and h.n_phi == 360
    assert build_clusterer("hough", {"field_T": 0.5}, manifest=m).field_T == 0.5
    assert build_clusterer("hough", {"field_T": 0.0}, manifest={"source": {"name": "sim-lartpc"}}).detector == "generic"


def test_file_sources_get_defaults_from_the_recorded_detector_not_their_name():
    """A TrackML-format dataset may be any detector: the field it records picks the space."""
    def m(field, sigma=None):
        extra = {"field_T": field, **({"luminous_region": {"sigma": [0, 0, sigma]}} if sigma else {})}
        return {"source": {"name": "trackml"}, "extra": extra}

    helix = build_clusterer("dbscan", manifest=m(2.0))
    # p_T >= 0.3 GeV in 2 T: R = p_T / (0.3 B) = 0.5 m
    assert helix.space == "helix" and max(helix.curvature) == pytest.approx(0.299792458 * 2.0 / 0.3 / 1000, rel=1e-6)
    straight = build_clusterer("dbscan", manifest=m(0.0, sigma=50.0))
    assert straight.space == "direction" and min(straight.z0) == -150.0 and len(straight.z0) == 25
    assert build_clusterer("dbscan", manifest=m(None)).space == "xyz"        # unknown field
    h0 = build_clusterer("hough", manifest=m(0.0, sigma=50.0))
    assert h0.field_T == 0.0 and h0.n_kappa == 1 and h0.z0_max == 150.0
    assert build_clusterer("hough", manifest=m(2.0)).field_T == 2.0
    assert build_clusterer("hough", {"detector": "trackml"}, manifest=m(0.0)).pt_min == 0.5  # by name, on request


def test_model_driven_gnn_and_condensation():
    lab = GNNClusterer(model=_EdgeModel()).cluster(EVENT)
    assert lab.tolist() == [0, 0, 0, -1]
    lab = CondensationClusterer(model=_OCModel(), distance=1.5, min_hits=1).cluster(EVENT)
    assert lab.tolist() == [0, 0, 0, 1]  # hit 3 (x = 0) is its own condensation point


def test_model_of_wrong_level_is_refused():
    with pytest.raises(DataError, match="edge-classification"):
        GNNClusterer(model=_OCModel()).cluster(EVENT)
    with pytest.raises(DataError, match="condensation model"):
        CondensationClusterer(model=_EdgeModel()).cluster(EVENT)


def test_run_model_outputs_numpy():
    out = run_model(_EdgeModel(), EVENT)
    assert out["out"].shape == (3, 1) and out["edge_index"].shape == (2, 3)


def test_run_flags():
    with pytest.raises(ConfigError, match="`task.name=edge-classification`"):
        build_clusterer("gnn")
    with pytest.raises(ConfigError, match="only for the learned"):
        build_clusterer("hough", {"field_T": 0.0}, run="somewhere")


def test_a_runs_settings_file_of_another_method_is_refused_not_dropped(tmp_path):
    from hepgraph.cluster.learned import run_settings

    (tmp_path / "cluster.yaml").write_text("method: dbscan\noptions: {eps: 1.0}\n")
    with pytest.raises(ConfigError, match=r"holds settings of method `dbscan`.*rewrite it with `method: gnn`"):
        run_settings(tmp_path, "gnn")
    (tmp_path / "cluster.yaml").write_text("method: gnn\noptions: {threshold: 0.7}\n")
    assert run_settings(tmp_path, "gnn") == {"threshold": 0.7}
    assert run_settings(tmp_path, "condensation") == {}


def test_hough_without_a_recorded_field_asks_for_one():
    """A TPC read from files records no field: the circle Hough must not assume 1 T."""
    with pytest.raises(ConfigError, match="records none .*`field_T` \\(T; 0 for straight tracks\\)"):
        build_clusterer("hough", manifest={"source": {"name": "root"}, "extra": {}})
    assert build_clusterer("hough", {"field_T": 0.0}, manifest={"source": {"name": "root"}}).field_T == 0.0
    assert build_clusterer("hough", manifest={"source": {"name": "root"}, "extra": {"field_T": 0.5}}).field_T == 0.5
