from __future__ import annotations

import numpy as np
import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.events import collate_events
from hepgraph.represent.image import pixel_lookup, to_image

EXT = [[0.0, 4.0], [0.0, 4.0], [0.0, 2.0]]


def _batch():
    # event 0: three hits, two share pixel (0, 1) in xy; one outside the extent
    ev0 = {"x": [0.5, 0.7, 3.2, 9.0], "y": [1.5, 1.1, 0.2, 1.0], "z": [0.1, 1.9, 1.0, 1.0],
           "charge": [1.0, 2.0, 4.0, 8.0]}
    ev1 = {"x": [], "y": [], "z": [], "charge": []}
    ev2 = {"x": [2.5], "y": [3.9], "z": [0.5], "charge": [3.0]}
    evs = [{k: np.asarray(v, np.float32) for k, v in e.items()} for e in (ev0, ev1, ev2)]
    return collate_events(evs, features=["charge"])


def test_per_hit_xy_hand_computed():
    img = to_image(_batch(), view="xy", shape=(4, 4), extent=EXT, encoding="per_hit")
    assert img.shape == (3, 1, 4, 4)
    ref = torch.zeros(3, 1, 4, 4)
    ref[0, 0, 0, 1] = 3.0  # hits 0 and 1
    ref[0, 0, 3, 0] = 4.0
    ref[2, 0, 2, 3] = 3.0  # hit at x=9 is outside: dropped
    assert torch.equal(img, ref)


@pytest.mark.parametrize(
    "encoding, v0, v2", [("binary", 1.0, 1.0), ("total", 15.0, 3.0), ("average", 15.0 / 4, 3.0)]
)
def test_event_encodings(encoding, v0, v2):
    img = to_image(_batch(), view="xy", shape=(4, 4), extent=EXT, encoding=encoding)
    ref = torch.zeros(3, 1, 4, 4)
    ref[0, 0, 0, 1] = ref[0, 0, 3, 0] = v0
    ref[2, 0, 2, 3] = v2
    assert torch.allclose(img, ref)


def test_clamp_keeps_outside_hits():
    img = to_image(_batch(), view="xy", shape=(4, 4), extent=EXT, outside="clamp")
    assert img[0, 0, 3, 1] == 8.0 and img.sum() == 18.0


def test_views_3d_and_multiview():
    b = _batch()
    yz = to_image(b, view="yz", shape=(4, 2), extent=EXT)
    # projections check the extent on the view's own axes only: the x=9 hit is in yz
    assert yz[0, 0, 1, 0] == 1.0 and yz[0, 0, 1, 1] == 2.0 + 8.0 and yz[0, 0, 0, 1] == 4.0
    vol = to_image(b, view="3d", shape=(4, 4, 2), extent=EXT)
    assert vol.shape == (3, 1, 4, 4, 2)
    assert vol[0, 0, 0, 1, 0] == 1.0 and vol[0, 0, 0, 1, 1] == 2.0 and vol[2, 0, 2, 3, 0] == 3.0
    mv = to_image(b, view="multiview", shape=(4, 4), extent=EXT)
    assert mv.shape == (3, 3, 1, 4, 4)
    assert torch.equal(mv[:, 0], to_image(b, view="xy", shape=(4, 4), extent=EXT))
    assert torch.allclose(mv.sum(dim=(2, 3, 4)), torch.tensor([[7.0, 15.0, 7.0], [0.0] * 3, [3.0] * 3]))


def test_pixel_lookup_reads_hit_pixels():
    b = _batch()
    img = to_image(b, view="xy", shape=(4, 4), extent=EXT)
    got = pixel_lookup(img, b, "xy", EXT)
    assert got[:, 0].tolist() == [3.0, 3.0, 4.0, 0.0, 3.0]
    coarse = torch.nn.functional.avg_pool2d(img, 2) * 4  # 2x2 sums
    assert pixel_lookup(coarse, b, "xy", EXT)[:, 0].tolist() == [3.0, 3.0, 4.0, 0.0, 3.0]


def test_errors():
    with pytest.raises(ConfigError, match="`rgb`"):
        to_image(_batch(), encoding="rgb")
    with pytest.raises(ConfigError, match="`uv`"):
        to_image(_batch(), view="uv")
    with pytest.raises(ConfigError, match="extent"):
        to_image(_batch(), extent=[[1, 0], [0, 1], [0, 1]])
