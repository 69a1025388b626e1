from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.events import collate_events
from hepgraph.represent.image import to_image
from hepgraph.represent.sparse import to_sparse


def _batch():
    ev0 = {"x": [1.0, 2.0, 12.0, -3.0], "y": [1.0, 4.0, 1.0, 0.0], "z": [0.5, 0.2, 9.0, 0.0],
           "charge": [1.0, 2.0, 4.0, 8.0]}
    ev1 = {"x": [], "y": [], "z": [], "charge": []}
    ev2 = {"x": [1.0], "y": [1.0], "z": [1.0], "charge": [3.0]}
    evs = [{k: np.asarray(v, np.float32) for k, v in e.items()} for e in (ev0, ev1, ev2)]
    return collate_events(evs, features=["charge"])


EXT = [[0.0, 20.0]] * 3


@pytest.mark.parametrize("reduce, merged", [("sum", 3.0), ("mean", 1.5), ("max", 2.0)])
def test_voxels_and_inverse_map(reduce, merged):
    b = _batch()
    st = to_sparse(b, voxel_size=5.0, reduce=reduce, extent=EXT)
    assert st.batch_size == 3 and len(st) == 4  # hits 0,1 share voxel (0,0,0) of event 0
    back = st.feats[st.inverse_map][:, 0]
    assert back.tolist() == [merged, merged, 4.0, 8.0, 3.0]
    assert torch.equal(st.coords[st.inverse_map][:, 0], b.batch)
    assert st.coords[st.inverse_map][3, 1:].tolist() == [-1, 0, 0]  # outside: kept, negative
    assert torch.equal(st.coords[:, 0], b.batch[st.unique_index])


def test_sparse_matches_3d_image_inside_extent():
    b = _batch()
    st = to_sparse(b, voxel_size=5.0, extent=EXT)
    keep = (st.coords[:, 1:] >= 0).all(1)
    from hepgraph.sparse import SparseTensor

    inside = SparseTensor(st.coords[keep], st.feats[keep], batch_size=3)
    img = to_image(b, view="3d", shape=(4, 4, 4), extent=EXT)
    torch.testing.assert_close(inside.dense(shape=(4, 4, 4)), img)


def test_errors():
    with pytest.raises(ConfigError, match="`median`"):
        to_sparse(_batch(), reduce="median")
    with pytest.raises(ConfigError, match="voxel_size"):
        to_sparse(_batch(), voxel_size=0.0)
