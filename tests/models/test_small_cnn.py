"""small-cnn: one image shape for all views, or one per view."""

from __future__ import annotations

import pytest
import torch

from hepgraph.errors import ConfigError
from hepgraph.models import create_model

EXTENT = [[-400.0, 400.0]] * 3


@pytest.fixture
def batch(event_factory):
    from hepgraph.events import collate_events

    return collate_events(event_factory([30, 5, 17], seed=3), features=["charge"])


def _cnn(image_shape, views=("xy", "xz")):
    torch.manual_seed(0)
    return create_model("small-cnn", in_channels=1, level="event", out_channels=4, views=list(views),
                        image_shape=image_shape, channels=[4, 8], extent=EXTENT, head_hidden=8).eval()


def test_one_shape_equals_the_same_shape_per_view(batch):
    a, b = _cnn([12, 20]), _cnn([[12, 20], [12, 20]])
    torch.testing.assert_close(a(batch)["out"], b(batch)["out"])


def test_shape_per_view_builds_each_image_at_its_shape(batch):
    model = _cnn([[12, 20], [20, 20], [6, 6]], views=("xy", "xz", "yz"))
    seen = []
    for br in model.branches:
        br.register_forward_hook(lambda m, inp, out: seen.append(tuple(inp[0].shape[-2:])))
    assert model(batch)["out"].shape == (3, 4)
    assert seen == [(12, 20), (20, 20), (6, 6)]


@pytest.mark.parametrize("bad", [[[12, 20]], [12], [[12, 20], [0, 3]], ["a", 3]])
def test_bad_image_shape(bad):
    with pytest.raises(ConfigError, match="image_shape"):
        _cnn(bad)
