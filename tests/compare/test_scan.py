from __future__ import annotations

import pytest

from hepgraph.compare.scan import grid_shape, scan_markdown, voxels_from_resolution


def test_grid_shape_covers_extent():
    ext = [[-100, 100], [-50, 50], [0, 1000]]
    assert grid_shape(ext, 10.0) == [20, 10, 100]
    assert grid_shape(ext, 30.0) == [8, 8, 34]  # ceil(200/30)=7 -> at least 8; ceil(1000/30)=34


def test_voxels_from_resolution_uses_longest_axis():
    assert voxels_from_resolution([[-100, 100], [0, 50], [0, 10]], [10, 40]) == pytest.approx([20.0, 5.0])


def test_scan_markdown_marks_skipped_dense():
    scan = {"points": [{"voxel_mm": 5.0, "grid": [400, 400, 400], "occupied_per_event": 12.0,
                        "dense": None, "sparse": {"seconds_per_event": 0.5, "peak_mib": 3.0}}]}
    row = scan_markdown(scan).splitlines()[2]
    assert row == "| 5 | 400x400x400 | 12 | - | - | 0.5 | 3 |"
