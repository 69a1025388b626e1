"""Sparse convolution vs dense F.conv2d/3d and F.conv_transpose2d/3d: forward and gradients."""

from __future__ import annotations

import pytest
import torch

from hepgraph.sparse import SparseTensor, nn
from hepgraph.sparse.backends.torch import conv as conv_mod
from hepgraph.sparse.backends.torch.conv import SparseConvFunction, sparse_conv
from hepgraph.sparse.backends.torch.hashing import kernel_offsets
from hepgraph.sparse.backends.torch.kernel_map import strided_map, submanifold_map
from tests.sparse.helpers import (
    DEVICES,
    at_sites,
    conv_nd,
    dense_transpose,
    random_tensor,
)

TOL = dict(atol=1e-5, rtol=1e-5)
SIZE = 8
# several batch entries, an empty one in the middle and one at the end
COUNTS = {2: [20, 0, 14, 0], 3: [60, 0, 45, 0]}


def _subm(ndim):
    return nn.SubmConv2d if ndim == 2 else nn.SubmConv3d


def _down(ndim):
    return nn.Conv2d if ndim == 2 else nn.Conv3d


def _up(ndim):
    return nn.ConvTranspose2d if ndim == 2 else nn.ConvTranspose3d


def _check_grads(out_sparse, out_dense_at_sites, x_feats, conv, seed=3):
    """Same loss through both paths -> same gradients w.r.t. feats and weight."""
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(out_sparse.shape, generator=g).to(out_sparse.device)
    gs = torch.autograd.grad((out_sparse * r).sum(), [x_feats, conv.weight], retain_graph=True)
    gd = torch.autograd.grad((out_dense_at_sites * r).sum(), [x_feats, conv.weight])
    torch.testing.assert_close(gs[0], gd[0], **TOL)
    torch.testing.assert_close(gs[1], gd[1], **TOL)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("k,dil", [(1, 1), (3, 1), (5, 1), (3, 2)])
def test_submanifold_matches_dense(device, ndim, k, dil):
    torch.manual_seed(0)
    x = random_tensor(ndim, SIZE, COUNTS[ndim], 4, device=device)
    conv = _subm(ndim)(4, 5, kernel_size=k, dilation=dil, bias=True).to(device)
    y = conv(x)
    assert torch.equal(y.coords, x.coords) and y.stride == x.stride
    ref = conv_nd(ndim)(
        x.dense([SIZE] * ndim), conv.dense_weight(), conv.bias, padding=dil * (k // 2), dilation=dil
    )
    ref = at_sites(ref, x.coords)
    torch.testing.assert_close(y.feats, ref, **TOL)
    _check_grads(y.feats, ref, x.feats, conv)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("k,s,dil", [(2, 2, 1), (3, 2, 1), (5, 2, 1), (3, 2, 2)])
def test_strided_matches_dense(device, ndim, k, s, dil):
    torch.manual_seed(0)
    x = random_tensor(ndim, SIZE, COUNTS[ndim], 3, device=device)
    conv = _down(ndim)(3, 4, kernel_size=k, stride=s, dilation=dil).to(device)
    y = conv(x)
    expected = torch.unique(torch.div(x.coords, torch.tensor([1] + [s] * ndim, device=device),
                                      rounding_mode="floor"), dim=0)
    assert torch.equal(torch.unique(y.coords, dim=0), expected)
    assert y.stride == (s,) * ndim and y.batch_size == x.batch_size
    ref = conv_nd(ndim)(
        x.dense([SIZE] * ndim), conv.dense_weight(), stride=s, padding=dil * ((k - 1) // 2),
        dilation=dil,
    )
    ref = at_sites(ref, y.coords)
    torch.testing.assert_close(y.feats, ref, **TOL)
    _check_grads(y.feats, ref, x.feats, conv)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("k,s,dil", [(2, 2, 1), (3, 2, 1), (5, 2, 1)])
def test_transposed_matches_dense(device, ndim, k, s, dil):
    torch.manual_seed(0)
    x = random_tensor(ndim, SIZE, COUNTS[ndim], 3, device=device)
    coarse = _down(ndim)(3, 4, kernel_size=k, stride=s, dilation=dil).to(device)(x)
    leaf = coarse.feats.detach().clone().requires_grad_(True)
    y = coarse.replace(leaf)
    up = _up(ndim)(4, 2, kernel_size=k, stride=s, dilation=dil).to(device)
    z = up(y)
    assert torch.equal(z.coords, x.coords) and z.stride == x.stride  # back to the fine sites
    ref = dense_transpose(y.dense([SIZE // s] * ndim), up.dense_weight(), k, s, dil, SIZE)
    ref = at_sites(ref, z.coords)
    torch.testing.assert_close(z.feats, ref, **TOL)
    _check_grads(z.feats, ref, leaf, up)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k", [2, 3])
def test_transposed_generates_sites_without_fine_set(device, k):
    coords = torch.tensor([[0, 1, 2, 0], [0, 3, 3, 3], [1, 0, 0, 1]], device=device)
    feats = torch.randn(3, 2, device=device, requires_grad=True)
    y = SparseTensor(coords, feats, stride=2)
    up = nn.ConvTranspose3d(2, 3, kernel_size=k, stride=2).to(device)
    z = up(y)
    assert z.stride == (1, 1, 1)
    size = 8
    ref = dense_transpose(y.dense([4, 4, 4]), up.dense_weight(), k, 2, 1, size)
    inside = ((z.coords[:, 1:] >= 0) & (z.coords[:, 1:] < size)).all(1)
    torch.testing.assert_close(z.feats[inside], at_sites(ref, z.coords[inside]), **TOL)
    # every site the dense transposed conv reaches is generated
    covered = torch.zeros(2, size, size, size, dtype=torch.bool, device=device)
    covered[tuple(z.coords[inside].t())] = True
    assert not (ref.abs().sum(1) > 0)[~covered].any()


@pytest.mark.parametrize("device", DEVICES)
def test_single_point_and_empty_input(device):
    conv = nn.SubmConv3d(2, 3, 3, bias=True).to(device)
    one = SparseTensor(torch.tensor([[0, 5, 5, 5]], device=device), torch.ones(1, 2, device=device))
    out = conv(one)
    # only the centre tap sees an active site
    centre = conv.dense_weight()[:, :, 1, 1, 1]
    torch.testing.assert_close(out.feats, (centre @ torch.ones(2, device=device))[None] + conv.bias)
    empty = SparseTensor(torch.empty(0, 4, dtype=torch.long, device=device),
                         torch.empty(0, 2, device=device), batch_size=2)
    for layer in (conv, nn.Conv3d(2, 3).to(device)):
        res = layer(empty)
        assert res.feats.shape == (0, 3) and res.batch_size == 2


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_float64(device):
    x = random_tensor(3, 5, [12, 9], 2, device=device, dtype=torch.float64)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    kmap = submanifold_map(x.coords, offs)
    w = torch.randn(27, 2, 3, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(SparseConvFunction.apply, (x.feats, w, kmap))
    down = torch.unique(torch.div(x.coords, torch.tensor([1, 2, 2, 2], device=device),
                                  rounding_mode="floor"), dim=0)
    smap = strided_map(x.coords, down, (2, 2, 2), kernel_offsets((3, 3, 3), (1, 1, 1)))
    assert torch.autograd.gradcheck(SparseConvFunction.apply, (x.feats, w, smap))
    yf = torch.randn(down.shape[0], 2, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(SparseConvFunction.apply, (yf, w, smap.transposed()))


def _run(threads, x_coords, feats, w, kmap=None, loss=None):
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        f = feats.clone().requires_grad_(True)
        ww = w.clone().requires_grad_(True)
        if kmap is None:
            kmap = submanifold_map(x_coords, kernel_offsets((3, 3, 3), (1, 1, 1)))
        out = sparse_conv(f, ww, kmap)
        (out.square().sum() if loss is None else loss(out)).backward()
        return out.detach(), f.grad, ww.grad
    finally:
        torch.set_num_threads(prev)


def test_deterministic_across_threads():
    x = random_tensor(3, 24, [3000, 3000], 16)
    w = torch.randn(27, 16, 16)
    a = _run(1, x.coords, x.feats.detach(), w)
    b = _run(2, x.coords, x.feats.detach(), w)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


@pytest.mark.parametrize("device", DEVICES)
def test_autocast(device):
    dtype = torch.bfloat16 if device == "cpu" else torch.float16
    x = random_tensor(3, SIZE, COUNTS[3], 8, device=device)
    conv = nn.SubmConv3d(8, 8, bias=True).to(device)
    ref = conv(x).feats
    with torch.autocast(device, dtype=dtype):
        out = conv(x)
    assert out.feats.dtype == dtype
    torch.testing.assert_close(out.feats.float(), ref, atol=5e-2, rtol=5e-2)
    out.feats.float().sum().backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()
    assert x.feats.grad is not None and x.feats.grad.dtype == torch.float32


def _reference(feats, w, kmap):
    """out[o] += feats[i] @ W[j] pair by pair, in float64."""
    out = torch.zeros(kmap.n_out, w.shape[2], dtype=torch.float64)
    start = 0
    f, ww = feats.double(), w.double()
    for j, n in enumerate(kmap.sizes):
        i, o = kmap.in_idx[start:start + n], kmap.out_idx[start:start + n]
        out.index_add_(0, o, f[i] @ ww[j])
        start += n
    if kmap.identity is not None:
        out += f @ ww[kmap.identity]
    return out


@pytest.mark.parametrize("layout", ["grouped", "per-offset", "auto"])
@pytest.mark.parametrize("cin,cout", [(3, 5), (16, 16), (64, 96)])
def test_plan_layouts_match_pairwise_reference(layout, cin, cout, monkeypatch):
    if layout == "grouped":  # every offset batched with others
        monkeypatch.setattr(conv_mod, "SMALL_MACS", 2**62)
        monkeypatch.setattr(conv_mod, "GROUP_MAX_WEIGHT", 2**62)
    elif layout == "per-offset":  # one bmm per offset, weights as stride-0 views
        monkeypatch.setattr(conv_mod, "SMALL_MACS", -1)
    monkeypatch.setattr(conv_mod, "CHUNK_ROWS", 16)  # several chunks and padding rows
    x = random_tensor(3, 10, [300, 0, 200], cin, dtype=torch.float64)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    down = torch.unique(torch.div(x.coords, torch.tensor([1, 2, 2, 2]), rounding_mode="floor"),
                        dim=0)
    for kmap in (submanifold_map(x.coords, offs), strided_map(x.coords, down, (2, 2, 2), offs)):
        w = torch.randn(27, cin, cout, dtype=torch.float64, requires_grad=True)
        feats = x.feats.detach().clone().requires_grad_(True)
        plan = conv_mod.make_plan(kmap, (cin, cout))
        kinds = {s.offset is None for s in plan.segments}
        assert kinds == {"grouped": {True}, "per-offset": {False}}.get(layout, kinds)
        out = sparse_conv(feats, w, kmap)
        ref = _reference(feats, w, kmap)
        torch.testing.assert_close(out, ref)
        r = torch.randn_like(out)
        g = torch.autograd.grad((out * r).sum(), [feats, w])
        gr = torch.autograd.grad((ref * r).sum(), [feats, w])
        torch.testing.assert_close(g[0], gr[0])
        torch.testing.assert_close(g[1], gr[1])


def _run_layer(threads, feats, w, kmap):
    """Like ``_run`` on a given map, with a loss whose gradient differs per element."""
    def loss(out):
        return (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()

    return _run(threads, None, feats, w, kmap=kmap, loss=loss)


@pytest.mark.parametrize("per_offset", [False, True])
@pytest.mark.parametrize("cin,cout", [(4, 8), (32, 32), (96, 128)])
def test_deterministic_across_threads_all_layouts(cin, cout, per_offset, monkeypatch):
    if per_offset:  # one bmm per offset with a stride-0 weight view
        monkeypatch.setattr(conv_mod, "SMALL_MACS", -1)
    x = random_tensor(3, 20, [1500, 7, 900], cin)  # sparse enough for small offsets too
    offs = kernel_offsets((3, 3, 3), (1, 1, 1))
    down = torch.unique(torch.div(x.coords, torch.tensor([1, 2, 2, 2]), rounding_mode="floor"),
                        dim=0)
    maps = [submanifold_map(x.coords, offs),
            strided_map(x.coords, down, (2, 2, 2), kernel_offsets((2, 2, 2), (1, 1, 1)))]
    maps.append(maps[1].transposed())
    g = torch.Generator().manual_seed(5)
    for kmap in maps:
        k = len(kmap.sizes)
        f = torch.randn(kmap.n_in, cin, generator=g)
        w = torch.randn(k, cin, cout, generator=g)
        a, b = _run_layer(1, f, w, kmap), _run_layer(2, f, w, kmap)
        for u, v in zip(a, b):
            assert torch.equal(u, v)


def test_rows_mm_any_row_count():
    w = torch.randn(7, 5)
    for m in (0, 1, 2, 3, 33, 4097):
        x = torch.randn(m, 7)
        out = torch.empty(m, 5)
        conv_mod.rows_mm(x, w, out)
        torch.testing.assert_close(out, x @ w)
