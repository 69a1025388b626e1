"""Per-channel geometry tables of a mapping: values read back, duplicates and NaN refused."""

from __future__ import annotations

import numpy as np
import pytest

from hepgraph.errors import DataError
from hepgraph.sources.channels import load_channels

SPEC = {"file": "pmts.csv", "id": "channel", "columns": {"x": "px", "y": "py"}}


def _table(tmp_path, rows: str):
    (tmp_path / "pmts.csv").write_text("channel,px,py\n" + rows)
    return load_channels(SPEC, tmp_path)


def test_values_sorted_by_id_and_identical_duplicates_merged(tmp_path):
    t = _table(tmp_path, "2,20.5,1\n0,0.5,2\n2,20.5,1\n1,10.5,3\n")
    np.testing.assert_array_equal(t.ids, [0, 1, 2])
    np.testing.assert_array_equal(t.columns["x"], [0.5, 10.5, 20.5])
    np.testing.assert_array_equal(t.columns["y"], [2, 3, 1])


def test_an_id_twice_with_different_values(tmp_path):
    with pytest.raises(DataError, match="channel id 1 appears twice with different values"):
        _table(tmp_path, "0,0,0\n1,1,0\n1,5,0\n")


@pytest.mark.parametrize("rows", ["0,0,0\n1,nan,0\n2,2,0\n", "0,0,0\n1,1,inf\n2,2,0\n", "0,0,0\n1,1,\n2,2,0\n"])
def test_nan_or_infinite_positions_name_the_table_column_and_ids(tmp_path, rows):
    with pytest.raises(DataError, match=r"geometry `.*pmts.csv`: column `[xy]` \(`p[xy]`\) is NaN or infinite "
                                        r"for 1 channel id\(s\) \(1\)"):
        _table(tmp_path, rows)
