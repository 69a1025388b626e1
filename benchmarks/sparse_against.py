"""hepgraph.sparse against spconv (and MinkowskiEngine where installed): occupancy x channels.

Run through ``python benchmarks/sparse_conv.py --against spconv [options]``.

Network: SubM3 -> Conv(k2, s2) -> SubM3, C -> C channels, no bias, the same weights in
every engine, on one event of uniformly random sites in a 128^3 grid. Each timed call
starts from raw coordinates (kernel maps are rebuilt, as for a new event in training).
For every cell the outputs (and, for fwd+bwd, the input gradients) are compared with
hepgraph's, matched site by site; then the engines run ``--repeat`` times interleaved
(the order alternates), and the median and range of each are printed with the load
average. spconv's CPU build gives wrong results with more than one thread, so the sweep
runs at ``--threads 1`` (the default) and says so.

``pip install spconv`` (2.3.x) brings the CPU build; MinkowskiEngine 0.5.4 (no wheel; built
from source, see ``.ci/install_minkowski.sh``) is used only if it imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

SIZE = 128


def _coords(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lin = torch.randperm(SIZE**3, generator=g)[:n]
    return torch.stack([torch.zeros_like(lin), lin // SIZE**2, (lin // SIZE) % SIZE,
                        lin % SIZE], 1)


class Engine:
    """One engine's network on given coordinates: ``run(backward)`` -> (coords, out, grad)."""

    def __init__(self, ch: int, weights: list[torch.Tensor]) -> None:
        self.ch, self.weights = ch, weights


class Hepgraph(Engine):
    name = "hepgraph"

    def __init__(self, ch: int, weights: list[torch.Tensor]) -> None:
        from hepgraph.sparse import nn as snn

        super().__init__(ch, weights)
        self.net = torch.nn.Sequential(snn.SubmConv3d(ch, ch), snn.Conv3d(ch, ch, 2, 2),
                                       snn.SubmConv3d(ch, ch))
        with torch.no_grad():
            for layer, w in zip(self.net, weights):
                layer.weight.copy_(w)

    def run(self, coords: torch.Tensor, feats: torch.Tensor, backward: bool):
        from hepgraph.sparse import SparseTensor

        f = feats.detach().clone().requires_grad_(backward)
        out = self.net(SparseTensor(coords, f))
        if backward:
            out.feats.sum().backward()
        return out.coords, out.feats, f.grad


class Spconv(Engine):
    name = "spconv"

    def __init__(self, ch: int, weights: list[torch.Tensor]) -> None:
        import spconv.pytorch as sps
        import spconv.pytorch.ops as sps_ops

        super().__init__(ch, weights)
        if not torch.cuda.is_available():
            # spconv 2.3's backward asks for the current CUDA stream even for CPU tensors
            # (then does not use it), which fails on a CPU-only torch
            sps_ops.get_current_stream = lambda: 0
        algo = sps.ConvAlgo.Native
        self.sps = sps
        self.net = sps.SparseSequential(
            sps.SubMConv3d(ch, ch, 3, bias=False, indice_key="s1", algo=algo),
            sps.SparseConv3d(ch, ch, 2, 2, bias=False, algo=algo),
            sps.SubMConv3d(ch, ch, 3, bias=False, indice_key="s2", algo=algo),
        )
        with torch.no_grad():
            for layer, w in zip(self.net, weights):
                k = round(w.shape[0] ** (1 / 3))
                # ours (K, C_in, C_out), K in F.conv3d order -> spconv (C_out, k, k, k, C_in)
                layer.weight.copy_(w.reshape(k, k, k, ch, ch).permute(4, 0, 1, 2, 3))

    def run(self, coords: torch.Tensor, feats: torch.Tensor, backward: bool):
        f = feats.detach().clone().requires_grad_(backward)
        x = self.sps.SparseConvTensor(f, coords.int(), [SIZE] * 3, 1)
        out = self.net(x)
        if backward:
            out.features.sum().backward()
        return out.indices.long(), out.features, f.grad


class Minkowski(Engine):
    name = "minkowski"

    def __init__(self, ch: int, weights: list[torch.Tensor]) -> None:
        from hepgraph.sparse.backends.minkowski import import_minkowski, me_kernel_order

        super().__init__(ch, weights)
        self.ME = ME = import_minkowski()
        self.net = torch.nn.Sequential(
            ME.MinkowskiConvolution(ch, ch, kernel_size=3, dimension=3),
            ME.MinkowskiConvolution(ch, ch, kernel_size=2, stride=2, dimension=3),
            ME.MinkowskiConvolution(ch, ch, kernel_size=3, dimension=3),
        )
        with torch.no_grad():
            for layer, w, k in zip(self.net, weights, (3, 2, 3)):
                layer.kernel.copy_(w[torch.tensor(me_kernel_order((k,) * 3, (1,) * 3))])

    def run(self, coords: torch.Tensor, feats: torch.Tensor, backward: bool):
        f = feats.detach().clone().requires_grad_(backward)
        out = self.net(self.ME.SparseTensor(f, coords.int()))
        if backward:
            out.F.sum().backward()
        c = out.C.long()
        c[:, 1:] = torch.div(c[:, 1:], 2, rounding_mode="floor")  # ME keeps stride-1 space
        return c, out.F, f.grad


def _aligned(ref_coords, coords, feats):
    """``feats`` rows reordered to ``ref_coords`` (same site sets)."""
    from hepgraph.sparse.backends.torch.hashing import hash_coords

    kr, k = hash_coords(ref_coords), hash_coords(coords)
    sk, order = torch.sort(k)
    pos = torch.searchsorted(sk, kr).clamp(max=max(sk.numel() - 1, 0))
    if not torch.equal(sk[pos], kr):
        raise RuntimeError("the engines produced different output sites")
    return feats[order[pos]]


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def _cell(engines, n: int, ch: int, backward: bool, repeat: int):
    coords = _coords(n)
    feats = torch.randn(n, ch, generator=torch.Generator().manual_seed(1))
    ref = None
    diff = {}
    for e in engines:  # correctness first (also the warm-up call)
        c, out, grad = e.run(coords, feats, backward)
        if ref is None:
            ref = (c, out.detach(), grad)
            continue
        d = (_aligned(ref[0], c, out.detach()) - ref[1]).abs().max().item()
        scale = ref[1].abs().max().item()
        if backward:
            d = max(d, (grad - ref[2]).abs().max().item())
            scale = max(scale, ref[2].abs().max().item())
        diff[e.name] = d / max(scale, 1e-30)
    times = {e.name: [] for e in engines}
    load0 = os.getloadavg()[0]
    for r in range(repeat):
        order = engines if r % 2 == 0 else engines[::-1]
        for e in order:
            times[e.name].append(_timed(lambda e=e: e.run(coords, feats, backward)))
    return times, diff, (load0, os.getloadavg()[0])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="sparse_conv.py --against spconv")
    p.add_argument("--occupancies", type=float, nargs="+", default=[0.001, 0.01, 0.05])
    p.add_argument("--channels", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--passes", nargs="+", default=["fwd", "fwd+bwd"])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads (spconv's CPU build is wrong with more than 1)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    import spconv

    kinds = [Hepgraph, Spconv]
    me_note = "MinkowskiEngine: not importable here, left out"
    try:
        from hepgraph.sparse.backends.minkowski import import_minkowski

        import_minkowski()
        kinds.append(Minkowski)
        me_note = "MinkowskiEngine 0.5.4 included"
    except ImportError:
        pass
    print(f"# hepgraph vs spconv {spconv.__version__}: SubM3 -> Conv(k2,s2) -> SubM3, "
          f"{SIZE}^3, CPU, {a.threads} thread(s), torch {torch.__version__}; {me_note}; "
          f"{a.repeat} interleaved repeats, ms median [min-max]\n")
    names = [k.name for k in kinds]
    head = " | ".join(f"{m} ms" for m in names)
    ratios = " | ".join(f"{m}/hepgraph" for m in names[1:])
    print(f"| occupancy | sites | channels | pass | {head} | {ratios} | max rel. diff | load avg |")
    print("|" + "---|" * (6 + 2 * (len(names) - 1) + 1))
    g = torch.Generator().manual_seed(2)
    for occ in a.occupancies:
        n = int(round(occ * SIZE**3))
        for ch in a.channels:
            ws = [torch.randn(k, ch, ch, generator=g) / (k * ch) ** 0.5 for k in (27, 8, 27)]
            engines = [k(ch, ws) for k in kinds]
            for ps in a.passes:
                times, diff, load = _cell(engines, n, ch, ps == "fwd+bwd", a.repeat)
                med = {m: statistics.median(t) for m, t in times.items()}
                cells = " | ".join(f"{med[m]:.1f} [{min(times[m]):.1f}-{max(times[m]):.1f}]"
                                   for m in names)
                rat = " | ".join(f"{med[m] / med['hepgraph']:.2f}" for m in names[1:])
                dd = ", ".join(f"{v:.1e}" for v in diff.values())
                print(f"| {occ * 100:g} % | {n} | {ch} | {ps} | {cells} | {rat} | {dd} | "
                      f"{load[0]:.1f}-{load[1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
