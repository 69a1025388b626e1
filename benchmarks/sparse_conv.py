"""Sparse convolution benchmark: hepgraph vs dense nn.Conv3d vs MinkowskiEngine.

Grid 128^3, 32 -> 32 channels, kernel 3, uniform random occupancies 0.1 %, 1 %, 10 %;
a 4-layer submanifold stack (hepgraph, ME) vs the same stack of dense ``nn.Conv3d``
(padding 1), forward and forward+backward; also one training step of
subm -> strided (k2 s2) -> subm at ~80k voxels, and the kernel-map time for 100k points.

Every (method, case) runs in a fresh subprocess so peak memory is its own:
- CPU: peak RSS increase: the kernel's peak-RSS mark (VmHWM) is reset through
  ``/proc/self/clear_refs`` just before the first call, and the peak after it minus the RSS
  before it is reported (inputs and model already built; every method first runs once on
  a tiny 8^3 input so that one-time library initialisation is not counted);
- CUDA: ``torch.cuda.max_memory_allocated()`` minus the allocation before the first call.
Wall times are medians over repeats after one warm-up; each sparse repeat starts from
raw coordinates, so kernel maps are rebuilt as in training on new events.

Usage: ``python benchmarks/sparse_conv.py --device cpu`` (prints a markdown table).

``--against spconv``: the occupancy x channels sweep against spconv (and MinkowskiEngine
where it is installed) in one process: SubM3 -> Conv(k2, s2) -> SubM3 with the same
weights, outputs checked equal, repeats interleaved; see :mod:`sparse_against`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM), so earlier temporaries (e.g. drawing the
    random sites) do not count; falls back to the process-lifetime peak where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _coords(n: int, size: int, device: str, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lin = torch.randperm(size**3, generator=g)[:n]
    c = torch.stack([torch.zeros_like(lin), lin // size**2, (lin // size) % size, lin % size], 1)
    return c.to(device)


def _build(method: str, case: dict, device: str):
    """Returns a closure running one forward (and backward) pass."""
    size, ch, n = case["size"], case["channels"], case["points"]
    coords = _coords(n, size, device)
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(n, ch, generator=g).to(device)
    backward = case["mode"] == "fwd+bwd"
    if method == "dense":
        net = torch.nn.Sequential(
            *[torch.nn.Conv3d(ch, ch, 3, padding=1, bias=False) for _ in range(case["layers"])]
        ).to(device)
        x = torch.zeros(1, size, size, size, ch, device=device)
        x[0, coords[:, 1], coords[:, 2], coords[:, 3]] = feats
        x = x.permute(0, 4, 1, 2, 3).contiguous()
        del coords, feats
        if backward:
            x.requires_grad_(True)

        def run():
            out = net(x)
            if backward:
                out.sum().backward()
            return out

        return run
    if method == "hepgraph":
        from hepgraph.sparse import SparseTensor
        from hepgraph.sparse import nn as snn

        if case.get("net") == "step":
            layers = [snn.SubmConv3d(ch, ch), snn.Conv3d(ch, ch, 2, 2), snn.SubmConv3d(ch, ch)]
        else:
            layers = [snn.SubmConv3d(ch, ch) for _ in range(case["layers"])]
        net = torch.nn.Sequential(*layers).to(device)

        def run():
            x = SparseTensor(coords, feats.requires_grad_(backward))
            out = net(x)
            if backward:
                out.feats.sum().backward()
            return out

        return run
    if method == "minkowski":
        from hepgraph.sparse.backends.minkowski import import_minkowski

        ME = import_minkowski()
        if case.get("net") == "step":
            layers = [
                ME.MinkowskiConvolution(ch, ch, kernel_size=3, dimension=3),
                ME.MinkowskiConvolution(ch, ch, kernel_size=2, stride=2, dimension=3),
                ME.MinkowskiConvolution(ch, ch, kernel_size=3, dimension=3),
            ]
        else:
            layers = [
                ME.MinkowskiConvolution(ch, ch, kernel_size=3, dimension=3)
                for _ in range(case["layers"])
            ]
        net = torch.nn.Sequential(*layers)
        icoords = coords.int().cpu()

        def run():
            x = ME.SparseTensor(feats.requires_grad_(backward), icoords)
            out = net(x)
            if backward:
                out.F.sum().backward()
            return out

        return run
    raise ValueError(method)


def _kmap_times(device: str, n: int) -> dict:
    from hepgraph.sparse import SparseTensor
    from hepgraph.sparse.backends.torch.hashing import kernel_offsets
    from hepgraph.sparse.backends.torch.kernel_map import submanifold_map

    coords = _coords(n, 128, device)
    offs = kernel_offsets((3, 3, 3), (1, 1, 1), coords.device)
    res = {}
    ts = []
    for _ in range(7):
        _sync(device)
        t = time.perf_counter()
        submanifold_map(coords, offs)
        _sync(device)
        ts.append(time.perf_counter() - t)
    res["hepgraph kernel map"] = statistics.median(ts[1:]) * 1e3
    ts = []
    for _ in range(7):
        _sync(device)
        t = time.perf_counter()
        x = SparseTensor(coords, torch.zeros(n, 1, device=device))
        x.manager.submanifold_map(x.stride, (3, 3, 3), (1, 1, 1))
        _sync(device)
        ts.append(time.perf_counter() - t)
    res["hepgraph SparseTensor + kernel map"] = statistics.median(ts[1:]) * 1e3
    try:
        from hepgraph.sparse.backends.minkowski import import_minkowski

        ME = import_minkowski()
    except ImportError:
        return res
    if device != "cpu":
        return res
    ic = coords.int().cpu()
    ts = []
    for _ in range(7):
        t = time.perf_counter()
        cm = ME.CoordinateManager(D=3, coordinate_map_type=ME.CoordinateMapType.CPU)
        key, _ = cm.insert_and_map(ic, [1, 1, 1], "")
        cm.kernel_map(key, key, 1, 3, 1)
        ts.append(time.perf_counter() - t)
    res["MinkowskiEngine insert + kernel map"] = statistics.median(ts[1:]) * 1e3
    return res


def worker(spec: dict) -> dict:
    """Run one (method, case) in this fresh process: memory of the first call, then timing."""
    device = spec["device"]
    torch.manual_seed(0)
    if spec.get("kmap"):
        return _kmap_times(device, spec["points"])
    # Warm up on a tiny input first, so that one-time library initialisation (thread pools,
    # allocator arenas, oneDNN/cuDNN handles: ~13 MB of RSS on CPU) is not charged to the pass.
    _build(spec["method"], dict(spec, size=8, points=min(spec["points"], 64)), device)()
    run = _build(spec["method"], spec, device)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        _reset_peak_rss()
        base = _rss_mb()
    t = time.perf_counter()
    out = run()
    _sync(device)
    first = time.perf_counter() - t
    if device == "cuda":
        mem = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        mem = _peak_rss_mb() - base
    del out
    times = []
    for _ in range(spec["repeat"]):
        _sync(device)
        t = time.perf_counter()
        out = run()
        _sync(device)
        times.append(time.perf_counter() - t)
        del out
    return {"ms": statistics.median(times) * 1e3 if times else first * 1e3, "mb": mem}


def _spawn(spec: dict, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(v: float | None, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.1f}{unit}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--size", type=int, default=128, help="grid size per dimension (voxels)")
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--occupancies", type=float, nargs="+", default=[0.001, 0.01, 0.1],
                   help="fractions of active voxels")
    p.add_argument("--repeat", type=int, default=5, help="timed repeats (sparse)")
    p.add_argument("--dense-repeat", type=int, default=1, help="timed repeats (dense)")
    p.add_argument("--kmap-points", type=int, default=100_000)
    p.add_argument("--step-points", type=int, default=80_000)
    p.add_argument("--no-dense", action="store_true")
    p.add_argument("--no-minkowski", action="store_true")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--against", choices=["spconv"], default=None,
                   help="occupancy x channels sweep against spconv; the options that follow "
                        "are sparse_against.py's (see its --help)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    if "--against" in sys.argv[1:3]:
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--against", choices=["spconv"])
        _, rest = pre.parse_known_args()
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from sparse_against import main as against

        against(rest)
        return
    a = p.parse_args()
    if a.worker:
        spec = json.loads(a.worker)
        torch.set_num_threads(spec.get("threads", a.threads))
        print(json.dumps(worker(spec)))
        return
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device visible to torch")
    from hepgraph.typing import WITH_MINKOWSKI

    methods = ["hepgraph"]
    if not a.no_dense:
        methods.append("dense")
    if WITH_MINKOWSKI and not a.no_minkowski and a.device == "cpu":
        methods.append("minkowski")
    base = dict(device=a.device, size=a.size, channels=a.channels, layers=a.layers,
                threads=a.threads)
    rows = []
    dense_cache: dict[str, dict] = {}
    for occ in a.occupancies:
        n = int(round(occ * a.size**3))
        for mode in ("fwd", "fwd+bwd"):
            res = {}
            for m in methods:
                spec = dict(base, method=m, points=n, mode=mode,
                            repeat=a.dense_repeat if m == "dense" else a.repeat)
                if m == "dense":  # dense cost does not depend on occupancy: run once
                    if mode not in dense_cache:
                        dense_cache[mode] = _spawn(spec, a.threads)
                    res[m] = dense_cache[mode]
                else:
                    res[m] = _spawn(spec, a.threads)
            rows.append((f"{occ * 100:g}%", n, mode, res))
    step = []
    for mode in ("fwd+bwd",):
        res = {}
        for m in [m for m in methods if m != "dense"]:
            spec = dict(base, method=m, points=a.step_points, mode=mode, repeat=a.repeat,
                        net="step")
            res[m] = _spawn(spec, a.threads)
        step.append(res)
    kmap = _spawn(dict(base, kmap=True, points=a.kmap_points), a.threads)

    dev = torch.cuda.get_device_name() if a.device == "cuda" else f"CPU, {a.threads} threads"
    print(f"# Sparse convolution benchmark ({dev}; torch {torch.__version__}; "
          f"grid {a.size}^3, {a.channels}->{a.channels}, k=3, {a.layers} layers)\n")
    print("| occupancy | sites | pass | hepgraph ms | dense ms | ME ms | hepgraph MB | dense MB "
          "| ME MB | dense/hepgraph time | dense/hepgraph mem | hepgraph/ME time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")

    def get(r, m, k):
        v = r.get(m)
        return None if v is None or "error" in v else v[k]

    for occ, n, mode, r in rows:
        h, d, me = (get(r, m, "ms") for m in ("hepgraph", "dense", "minkowski"))
        hm, dm, mm = (get(r, m, "mb") for m in ("hepgraph", "dense", "minkowski"))
        sp = d / h if h and d else None
        mr = dm / hm if hm and dm else None
        rm = h / me if h and me else None
        print(f"| {occ} | {n} | {mode} | {_fmt(h)} | {_fmt(d)} | {_fmt(me)} | {_fmt(hm)} | "
              f"{_fmt(dm)} | {_fmt(mm)} | {_fmt(sp, 'x')} | {_fmt(mr, 'x')} | {_fmt(rm, 'x')} |")
    for r in step:
        h, me = get(r, "hepgraph", "ms"), get(r, "minkowski", "ms")
        print(f"\nTraining step subm -> strided(k2 s2) -> subm, {a.step_points} sites, fwd+bwd: "
              f"hepgraph {_fmt(h, ' ms')} ({_fmt(get(r, 'hepgraph', 'mb'), ' MB')}), "
              f"MinkowskiEngine {_fmt(me, ' ms')} ({_fmt(get(r, 'minkowski', 'mb'), ' MB')})")
    print(f"\nKernel map, {a.kmap_points} sites in 128^3, k=3: "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in kmap.items() if k != "error"))
    errors = [(m, v["error"]) for *_, r in rows for m, v in r.items() if "error" in v]
    for m, e in errors:
        print(f"\n{m} failed: {e}")


if __name__ == "__main__":
    main()
