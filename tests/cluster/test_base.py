from __future__ import annotations

import numpy as np
import pytest

from hepgraph.cluster.base import compact_labels, event_arrays, positions
from hepgraph.cluster.density import DBSCANClusterer
from hepgraph.errors import DataError
from hepgraph.events import collate_events


def test_compact_labels_order_and_min_hits():
    lab = compact_labels(np.array([7, 7, -1, 3, 3, 3, 9]), min_hits=2)
    assert lab.tolist() == [0, 0, -1, 1, 1, 1, -1]
    assert compact_labels(np.array([-1, -1])).tolist() == [-1, -1]


def test_hitbatch_input_equals_dict_input():
    ev = {"event_id": 5, "x": np.array([0.0, 1.0, 2.0, 50.0, 51.0, 52.0], np.float32),
          "y": np.zeros(6, np.float32), "z": np.zeros(6, np.float32)}
    c = DBSCANClusterer(eps=2.0, min_samples=2)
    from_batch = c.cluster(collate_events([ev]))
    assert from_batch.tolist() == c.cluster(ev).tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(DataError, match="one event at a time"):
        event_arrays(collate_events([ev, ev]))


def test_positions_errors():
    with pytest.raises(DataError, match="NaN"):
        positions({"x": [np.nan], "y": [0.0], "z": [0.0]})
    with pytest.raises(DataError, match="different lengths"):
        positions({"x": [1.0, 2.0], "y": [0.0], "z": [0.0]})
    with pytest.raises(DataError, match="dict of columns"):
        event_arrays([1, 2, 3])


def test_label_groups_by_hand():
    from hepgraph.cluster.base import label_groups

    groups = label_groups(np.array([3, -1, 3, 0, -1, 3]))
    assert [g.tolist() for g in groups] == [[1, 4], [3], [0, 2, 5]]
    assert label_groups(np.zeros(0, np.int64)) == []
