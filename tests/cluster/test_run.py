from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hepgraph.cluster.hough import HoughClusterer
from hepgraph.cluster.run import cluster_dataset, write_assignments
from hepgraph.errors import ConfigError, DataError

sys.path.insert(0, str(Path(__file__).parent))
from _tracks import curved_event  # noqa: E402


class _DS(list):
    manifest = {"columns": {"x": {}, "y": {}, "z": {}}, "extra": {"field_T": 2.0}}


def _event(eid):
    pts = (0.8, 1.5, 3.0, 1.0, 2.0)
    ev = curved_event(field=2.0, pts=pts)
    phi0 = np.array([-2.8 + i * 1.25 for i in range(5)])
    ev.update(event_id=eid, particle_id=np.arange(5), particle_px=np.array(pts) * np.cos(phi0),
              particle_py=np.array(pts) * np.sin(phi0))
    return ev


def test_cluster_dataset_scores_and_fits():
    ds = _DS([_event(1), _event(2)])
    res = cluster_dataset(ds, HoughClusterer(field_T=2.0, pt_min=0.5, n_phi=720, n_kappa=101))
    assert res.metrics["trackml_score"] == 1.0 and res.metrics["efficiency"] == 1.0
    assert res.event_id.tolist() == [1] * 65 + [2] * 65
    assert res.hit_id.tolist()[:3] == [0, 1, 2]  # no hit_id column: row index
    r = res.resolution
    assert sum(r["count"]) == 10  # every track fitted and matched
    assert np.nanmax(np.abs(r["bias"])) < 1e-3  # exact hits: fitted p_T = true p_T


def test_dataset_without_positions():
    class NoPos(list):
        manifest = {"columns": {"charge": {}}}

    with pytest.raises(DataError, match="no hit positions"):
        cluster_dataset(NoPos([{"charge": np.ones(3)}]), HoughClusterer())


def test_write_assignments_atomic(tmp_path):
    p = write_assignments(tmp_path / "o.csv", [1, 1], [5, 6], [0, -1])
    assert p.read_text().splitlines() == ['"event_id","hit_id","track_id"', "1,5,0", "1,6,-1"]
    with pytest.raises(ConfigError, match=".txt"):
        write_assignments(tmp_path / "o.txt", [1], [1], [1])
    assert sorted(x.name for x in tmp_path.iterdir()) == ["o.csv"]
