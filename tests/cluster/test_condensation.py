from __future__ import annotations

import numpy as np
import pytest

from hepgraph.cluster.condensation import CondensationClusterer, condense
from hepgraph.errors import ConfigError, DataError

EVENT = {"x": np.arange(9.0), "y": np.zeros(9), "z": np.zeros(9)}
# two blobs in a 2-D learned space and a stray hit; one high-beta hit per blob
EMB = np.array([[0, 0], [0.1, 0], [0, 0.2], [0.1, 0.1],
                [5, 5], [5.2, 5], [5, 5.1], [4.9, 5],
                [10, -10]], float)
BETA = np.array([0.1, 0.9, 0.2, 0.1, 0.05, 0.3, 0.95, 0.2, 0.1])


def test_two_blobs_and_noise():
    lab = CondensationClusterer(beta_threshold=0.5, distance=0.5).cluster(EVENT, embedding=EMB, beta=BETA)
    assert lab.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, -1]


def test_order_by_beta_and_no_reassignment():
    # two condensation points within reach of the same hits: the higher beta takes them
    emb = np.array([[0.0], [0.3], [0.6], [0.9]])
    beta = np.array([0.1, 0.6, 0.9, 0.1])
    lab = condense(emb, beta, 0.5, 0.4)
    assert lab.tolist() == [-1, 0, 0, 0]  # point 2 (0.9) takes 1 and 3; point 1 is then taken


def test_distance_and_threshold_matter():
    lab = condense(EMB, BETA, 0.5, 0.15)
    # raw labels follow beta order: hit 6 (0.95) -> 0 with 4, 7 (d = 0.1, 0.14); hit 1 -> 1 with 0, 3
    assert lab.tolist() == [1, 1, -1, 1, 0, -1, 0, 0, -1]
    assert (condense(EMB, BETA, 0.99, 0.5) == -1).all()


def test_bad_input():
    with pytest.raises(DataError, match="`run=RUN_DIR`"):
        CondensationClusterer().cluster(EVENT)
    with pytest.raises(DataError, match="embedding"):
        condense(EMB[:3], BETA, 0.5, 0.5)
    with pytest.raises(ConfigError, match="distance"):
        CondensationClusterer(distance=0.0)
