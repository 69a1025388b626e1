from __future__ import annotations

import torch

from hepgraph.models.graph.gravnet import GravNetConv


def test_gravnet_conv_matches_brute_force():
    torch.manual_seed(0)
    conv = GravNetConv(5, 6, space_dimensions=3, propagate_dimensions=4, k=3)
    x = torch.randn(11, 5)
    ptr = torch.tensor([0, 7, 7, 11])
    out = conv(x, ptr)
    s, h = conv.lin_s(x), conv.lin_h(x)
    ref = []
    for i in range(11):
        lo, hi = (0, 7) if i < 7 else (7, 11)
        d2 = (s[lo:hi] - s[i]).pow(2).sum(1)
        d2[i - lo] = float("inf")
        nb = d2.topk(3, largest=False).indices
        msg = h[lo:hi][nb] * torch.exp(-10 * d2[nb]).unsqueeze(1)
        ref.append(torch.cat([msg.mean(0), msg.max(0).values]))
    ref = conv.lin_out1(x) + conv.lin_out2(torch.stack(ref))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert conv.lin_s.weight.grad.abs().sum() > 0  # gradient flows through the distances
