"""MinkowskiEngine as the reference: same weights and inputs -> same outputs and gradients.

Skipped when MinkowskiEngine is not importable. ME keeps coordinates in the stride-1 index
space (a stride-2 tensor has even coordinates) while ours are ``floor(x / stride)``; its
kernel offsets come in another order. Both are mapped explicitly here.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepgraph.errors import MissingDependencyError
from hepgraph.sparse import nn
from tests.sparse.helpers import at_sites, random_tensor

mk = pytest.importorskip("hepgraph.sparse.backends.minkowski")
try:
    ME = mk.import_minkowski()
except MissingDependencyError:
    pytest.skip("MinkowskiEngine not installed", allow_module_level=True)

TOL = dict(atol=1e-5, rtol=1e-5)


def _me_tensor(x, feats):
    """ME SparseTensor of our x: coordinates scaled to ME's stride-1 index space."""
    s = torch.tensor((1, *x.stride))
    return ME.SparseTensor(feats, (x.coords * s).int(), tensor_stride=list(x.stride))


def _rows(me_out, ours_coords, stride):
    """Permutation putting ME's output rows in the order of our coordinates."""
    me_c = me_out.C.long()
    me_c[:, 1:] = torch.div(me_c[:, 1:], torch.tensor(stride), rounding_mode="floor")
    key = {tuple(r): i for i, r in enumerate(me_c.tolist())}
    return torch.tensor([key[tuple(r)] for r in ours_coords.tolist()])


@pytest.mark.parametrize("k", [3, 5])
def test_kernel_order_maps_weights_to_dense(k):
    x = random_tensor(3, 8, [40, 0, 25], 2)
    ours = nn.SubmConv3d(2, 3, kernel_size=k)
    me = ME.MinkowskiConvolution(2, 3, kernel_size=k, dimension=3)
    order = torch.tensor(mk.me_kernel_order((k,) * 3, (1,) * 3))
    with torch.no_grad():
        me.kernel.copy_(ours.weight[order])
    out = me(_me_tensor(x, x.feats))
    rows = _rows(out, x.coords, (1, 1, 1))
    ref = F.conv3d(x.dense([8] * 3), ours.dense_weight(), padding=k // 2)
    torch.testing.assert_close(out.F[rows], at_sites(ref, x.coords), **TOL)


@pytest.mark.parametrize(
    "make_ours,make_me",
    [
        (lambda: nn.SubmConv3d(3, 4, 3),
         lambda: ME.MinkowskiConvolution(3, 4, kernel_size=3, dimension=3)),
        (lambda: nn.Conv3d(3, 4, 2, 2),
         lambda: ME.MinkowskiConvolution(3, 4, kernel_size=2, stride=2, dimension=3)),
        (lambda: nn.Conv3d(3, 4, 3, 2),
         lambda: ME.MinkowskiConvolution(3, 4, kernel_size=3, stride=2, dimension=3)),
    ],
)
def test_forward_and_grads_match_minkowski_modules(make_ours, make_me):
    torch.manual_seed(0)
    x = random_tensor(3, 8, [50, 0, 30], 3)
    ours, me = make_ours(), make_me()
    k = ours.kernel_size
    order = torch.tensor(mk.me_kernel_order(k, (1, 1, 1)))
    with torch.no_grad():
        me.kernel.copy_(ours.weight[order])
    y = ours(x)
    me_feats = x.feats.detach().clone().requires_grad_(True)
    out = me(_me_tensor(x, me_feats))
    rows = _rows(out, y.coords, y.stride)
    assert len(rows) == len(y) == out.F.shape[0]  # same output sites
    torch.testing.assert_close(out.F[rows], y.feats, **TOL)
    r = torch.randn(y.feats.shape)
    (y.feats * r).sum().backward()
    (out.F[rows] * r).sum().backward()
    torch.testing.assert_close(me_feats.grad, x.feats.grad, **TOL)
    torch.testing.assert_close(me.kernel.grad, ours.weight.grad[order], **TOL)


def test_transposed_matches_minkowski_module():
    torch.manual_seed(0)
    x = random_tensor(3, 8, [50, 0, 30], 3)
    down = nn.Conv3d(3, 4, 2, 2)
    y = down(x)
    leaf = y.feats.detach().clone().requires_grad_(True)
    y = y.replace(leaf)
    up = nn.ConvTranspose3d(4, 2, 2, 2)
    z = up(y)
    # ME: the same down conv creates the stride-2 key, then the transposed conv goes back
    me_down = ME.MinkowskiConvolution(3, 4, kernel_size=2, stride=2, dimension=3)
    me_up = ME.MinkowskiConvolutionTranspose(4, 2, kernel_size=2, stride=2, dimension=3)
    order = torch.tensor(mk.me_kernel_order((2, 2, 2), (1, 1, 1)))
    with torch.no_grad():
        me_down.kernel.copy_(down.weight[order])
        me_up.kernel.copy_(up.weight[order])
    xm = _me_tensor(x, x.feats.detach())
    ym = me_down(xm)
    rows_y = _rows(ym, y.coords, y.stride)
    me_leaf = torch.empty_like(leaf)
    me_leaf[rows_y] = leaf.detach()
    me_leaf.requires_grad_(True)
    ym2 = ME.SparseTensor(me_leaf, coordinate_map_key=ym.coordinate_map_key,
                          coordinate_manager=ym.coordinate_manager)
    zm = me_up(ym2)
    rows_z = _rows(zm, z.coords, z.stride)
    torch.testing.assert_close(zm.F[rows_z], z.feats, **TOL)
    r = torch.randn(z.feats.shape)
    (z.feats * r).sum().backward()
    (zm.F[rows_z] * r).sum().backward()
    torch.testing.assert_close(me_leaf.grad[rows_y], leaf.grad, **TOL)
    torch.testing.assert_close(me_up.kernel.grad, up.weight.grad[order], **TOL)


@pytest.mark.parametrize("mode", ["subm", "down", "up"])
def test_backend_equals_torch_backend(mode):
    torch.manual_seed(0)
    x = random_tensor(3, 8, [50, 0, 30], 3)
    if mode == "up":
        x = nn.Conv3d(3, 3, 2, 2)(x)
        x = x.replace(x.feats.detach().requires_grad_(True))
    make = {"subm": lambda b: nn.SubmConv3d(3, 4, 3, bias=True, backend=b),
            "down": lambda b: nn.Conv3d(3, 4, 3, 2, backend=b),
            "up": lambda b: nn.ConvTranspose3d(3, 4, 2, 2, backend=b)}[mode]
    a, b = make("torch"), make("minkowski")
    b.load_state_dict(a.state_dict())
    ya = a(x)
    xb = x.replace(x.feats.detach().clone().requires_grad_(True))
    yb = b(xb)
    assert torch.equal(ya.coords, yb.coords)
    torch.testing.assert_close(yb.feats, ya.feats, **TOL)
    ya.feats.square().sum().backward()
    yb.feats.square().sum().backward()
    torch.testing.assert_close(xb.feats.grad, x.feats.grad, **TOL)
    torch.testing.assert_close(b.weight.grad, a.weight.grad, **TOL)


def test_set_backend_minkowski_roundtrip():
    import hepgraph.sparse as sp

    sp.set_backend("minkowski")
    try:
        x = random_tensor(3, 6, [20], 2)
        assert nn.SubmConv3d(2, 2)(x).feats.shape == (len(x), 2)
        assert "minkowski" in x.manager.backend_state
    finally:
        sp.set_backend("torch")
