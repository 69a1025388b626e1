from __future__ import annotations

import pytest


#: small kwargs per model so the whole smoke run stays fast on 2 cores
SMALL = [
    ("dense-resnet*-3d", dict(base_channels=4, image_shape=(8, 8, 8))),
    ("dense-resnet*", dict(base_channels=4, image_shape=(16, 16))),
    ("dense-unet-3d", dict(channels=(4, 8), image_shape=(8, 8, 8))),
    ("dense-unet", dict(channels=(4, 8), image_shape=(16, 16))),
    ("inception-cvn", dict(width=0.0625, image_shape=(16, 16))),
    ("small-cnn", dict(channels=(4, 8), image_shape=(16, 16))),
    ("mlp", dict(hidden_channels=16, num_layers=3, hit_channels=8)),
    ("sparse-resnet*", dict(base_channels=4, voxel_size=60.0)),
    ("sparse-unet", dict(channels=(4, 8), voxel_size=60.0)),
    ("edgeconv", dict(hidden_channels=8, num_layers=2, k=4, emb_channels=8)),
    ("gravnet", dict(hidden_channels=8, num_layers=2, k=4)),
    ("interaction-network", dict(hidden_channels=8, num_iterations=2, k=4)),
    ("gatv2", dict(hidden_channels=8, heads=2, num_layers=2, k=4)),
    ("point-transformer", dict(hidden_channels=8, num_layers=2, k=4)),
]
EXTENT = [[-400.0, 400.0]] * 3


def small_kwargs(name):
    import fnmatch

    for pat, kw in SMALL:
        if fnmatch.fnmatch(name, pat):
            return {**kw, "extent": EXTENT, "head_hidden": 8} if name != "mlp" else {**kw, "extent": EXTENT}
    return {"extent": EXTENT}


@pytest.fixture
def kwargs_for():
    return small_kwargs
