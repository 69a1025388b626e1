from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hepgraph.cluster.hough import HoughClusterer, arc_length
from hepgraph.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from _tracks import curved_event, forward_event, same_partition, straight_event  # noqa: E402


def test_straight_tracks_without_field():
    ev = straight_event()
    lab = HoughClusterer(field_T=0.0).cluster(ev)
    assert same_partition(lab, ev["track_id"])


@pytest.mark.parametrize("field", [1.0, 2.0])
def test_curved_tracks_from_origin(field):
    ev = curved_event(field=field)
    lab = HoughClusterer(field_T=field, pt_min=0.5, n_phi=720, n_kappa=101).cluster(ev)
    assert same_partition(lab, ev["track_id"])


def test_theta_split_separates_same_circle():
    ev = straight_event(n_tracks=1, noise=False)
    ev2 = {k: np.r_[v, -v if k == "z" else v] for k, v in ev.items() if k != "track_id"}
    truth = np.r_[np.zeros(10, int), np.ones(10, int)]
    lab = HoughClusterer(field_T=0.0).cluster(ev2)
    assert same_partition(lab, truth)
    lab = HoughClusterer(field_T=0.0, cot_tol=float("inf")).cluster(ev2)
    assert (lab == 0).all()


def test_arc_length_limits():
    r = np.array([10.0, 500.0])
    assert arc_length(r, 0.0) == pytest.approx(r)
    assert arc_length(np.array([2.0]), 1.0)[0] == pytest.approx(np.pi)  # half a turn, R = 1


def test_bad_config():
    with pytest.raises(ConfigError, match="pt_min"):
        HoughClusterer(pt_min=0.0)


def _forward_event():
    """Straight tracks from vertices spread along the beam, on planes z = 100..600 mm; tracks
    0 and 1 share their azimuth (only z0 / theta tell them apart)."""
    return forward_event([(0.3, 0.05, -80.0), (0.3, 0.03, 60.0), (2.0, 0.04, 0.0), (-1.5, 0.06, 30.0), (-2.9, 0.02, -40.0)])


def test_straight_lines_from_a_luminous_region():
    ev = _forward_event()
    lab = HoughClusterer(field_T=0.0, n_phi=512, z0_max=120.0, n_z0=49, theta_tol=0.002).cluster(ev)
    assert same_partition(lab, ev["track_id"])
    # without the luminous region the origin split cannot separate tracks 0 and 1
    lab0 = HoughClusterer(field_T=0.0, n_phi=512, cot_tol=2.0).cluster(ev)
    assert not same_partition(lab0, ev["track_id"])


def test_bad_theta_tol():
    with pytest.raises(ConfigError, match="theta_tol"):
        HoughClusterer(theta_tol=0.0)


@pytest.mark.parametrize("opts", [{"n_phi": 10**12}, {"n_phi": 8192, "n_kappa": 4096}, {"n_z0": 10**12}])
def test_absurd_accumulator_is_a_config_error_not_a_memory_error(opts):
    with pytest.raises(ConfigError, match="too large.*lower n_phi, n_kappa or n_z0"):
        HoughClusterer(**opts)
    HoughClusterer(n_phi=4096, n_kappa=1024)        # the largest grid the tuning tries still builds
