"""Forward+backward throughput and peak memory of one model per family, and kNN speed.

Events come from the built-in simulators (``sim-lartpc``: 2304 mm LAr cube, voxelised
hits; ``sim-drift-chamber``: ~500 wire hits), batch 16. Each model runs in its own
subprocess so that peak memory (CPU: max RSS above the post-load baseline; CUDA:
``torch.cuda.max_memory_allocated``) belongs to that model alone.

    python benchmarks/models.py --device cpu            # all models, both detectors
    python benchmarks/models.py --device cuda --repeats 10
    python benchmarks/models.py --knn-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: (model, level, kwargs) - benchmark sizes: moderate widths so CPU runs finish
MODELS = [
    ("dense-resnet18", "event", dict(image_shape=(64, 64), base_channels=32)),
    ("dense-resnet18-3d", "event", dict(image_shape=(32, 32, 32), base_channels=16)),
    ("sparse-resnet18", "event", dict(voxel_size="grid32", base_channels=16)),
    ("sparse-resnet18-fine", "event", dict(voxel_size="grid256", base_channels=16)),
    ("sparse-unet", "hit", dict(voxel_size="grid256", channels=(16, 32, 64, 128))),
    ("inception-cvn", "event", dict(image_shape=(64, 64), width=0.5)),
    ("small-cnn", "event", dict(image_shape=(64, 64))),
    ("mlp", "event", dict()),
    ("edgeconv", "hit", dict()),
    ("gravnet", "hit", dict()),
    ("gatv2", "hit", dict()),
    ("interaction-network", "edge", dict()),
    ("point-transformer", "hit", dict()),
]
DETECTORS = ("lartpc", "drift-chamber")


def load_batch(detector: str, batch_size: int, seed: int = 0):
    import torch

    cache = os.path.join(os.environ.get("HEPGRAPH_BENCH_CACHE", "/tmp"),
                         f"hepgraph_bench_{detector}_{batch_size}_{seed}.pt")
    if os.path.exists(cache):
        return torch.load(cache, weights_only=False)
    out = _simulate(detector, batch_size, seed)
    torch.save(out, cache + ".tmp")
    os.replace(cache + ".tmp", cache)
    return out


def _simulate(detector: str, batch_size: int, seed: int):
    import hepgraph.sources  # noqa: F401  (fills SOURCES)
    from hepgraph.events import collate_events, table_to_events
    from hepgraph.registry import SOURCES

    src = SOURCES.get(f"sim-{detector}")(inputs=None, mapping=None, seed=seed, params={})
    events = []
    for task in src.plan(max_events=batch_size):
        for tab in src.read(task):
            events += table_to_events(tab)
    feats = ["charge", ["t", 0.0, 1e-3]] if detector == "lartpc" else ["charge", ["layer", 0.0, 0.05]]
    return collate_events(events[:batch_size], features=feats), src.info().extra["extent"]


def run_one(name: str, level: str, kwargs: dict, detector: str, device: str, batch_size: int,
            repeats: int, threads: int) -> dict:
    import torch

    from hepgraph.models import create_model

    torch.set_num_threads(threads)
    batch, extent = load_batch(detector, batch_size)
    size = extent[0][1] - extent[0][0]
    kw = dict(kwargs)
    if isinstance(kw.get("voxel_size"), str):  # "gridN": the voxel of an N^3 grid over the extent
        kw["voxel_size"] = size / int(kw["voxel_size"][4:])
    batch = batch.to(device)
    torch.manual_seed(0)
    model = create_model(name.removesuffix("-fine"), in_channels=batch.feats.shape[1], level=level, out_channels=4,
                         extent=extent, **kw).to(device)
    params = sum(p.numel() for p in model.parameters())

    def step() -> None:
        out = model(batch)["out"]
        out.square().mean().backward()
        model.zero_grad(set_to_none=True)

    step()  # warm-up (kernel maps, allocator, lazy imports)
    base_rss = _reset_peak_rss()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = _status_mib("VmHWM") - base_rss  # MiB above the post-warm-up resident set
    t = sorted(times)[len(times) // 2]
    return {"model": name, "level": level, "detector": detector, "hits": batch.num_hits,
            "params": params, "median_s": t, "cpu_s": sorted(cpu)[len(cpu) // 2], "events_per_s": batch_size / t, "peak_mib": peak}


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> float:
    """Reset the kernel's peak-RSS mark (Linux clear_refs 5); return the current RSS (MiB)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mib("VmRSS")


def bench_knn(device: str, n: int = 100_000, k: int = 16) -> list[dict]:
    import torch

    from hepgraph.represent.neighbors import knn_graph

    g = torch.Generator().manual_seed(0)
    pos = (torch.rand(n, 3, generator=g) * 768.0).to(device)
    ptr = torch.tensor([0, n], device=device)
    rows = []
    backends = ["kdtree", "torch"] if device == "cpu" else ["torch"]
    for be in backends:
        m = n if (be == "kdtree" or device == "cuda") else 20_000  # torch on CPU: O(N^2) work
        p, pt = pos[:m], torch.tensor([0, m], device=device)
        knn_graph(p, pt, k, backend=be)
        if device == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        ei = knn_graph(p, pt, k, backend=be)
        if device == "cuda":
            torch.cuda.synchronize()
        rows.append({"backend": be, "points": m, "k": k, "seconds": time.perf_counter() - t0,
                     "cpu_seconds": time.process_time() - c0, "edges": int(ei.shape[1])})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="*", default=None, help="subset of model names")
    ap.add_argument("--detectors", nargs="*", default=list(DETECTORS))
    ap.add_argument("--knn-only", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: JSON for one (model, detector)
    a = ap.parse_args()
    if a.one:
        name, det = a.one.split("@")
        level, kw = next((lv, kw) for n, lv, kw in MODELS if n == name)
        print(json.dumps(run_one(name, level, kw, det, a.device, a.batch_size, a.repeats, a.threads)))
        return
    print(f"## kNN ({a.device})")
    for r in bench_knn(a.device):
        print(f"- {r['backend']}: {r['points']} points, k={r['k']}: wall {r['seconds']:.3f} s, "
              f"CPU {r['cpu_seconds']:.3f} s ({r['edges']} edges)")
    if a.knn_only:
        return
    print(f"\n## Forward+backward, batch {a.batch_size}, device {a.device}, threads {a.threads}\n")
    print("| detector | model | level | hits/batch | params | wall s/batch | CPU s/batch | events/s (wall) | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    names = a.models or [m[0] for m in MODELS]
    for det in a.detectors:
        load_batch(det, a.batch_size)  # simulate once; subprocesses read the cache
        for name in names:
            cmd = [sys.executable, __file__, "--one", f"{name}@{det}", "--device", a.device,
                   "--batch-size", str(a.batch_size), "--repeats", str(a.repeats),
                   "--threads", str(a.threads)]
            res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            if res.returncode != 0:
                print(f"| {det} | {name} | failed: {res.stderr.strip().splitlines()[-1][:80]} ||||||")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"| {det} | {name} | {r['level']} | {r['hits']} | {r['params'] / 1e6:.2f}M | "
                  f"{r['median_s']:.3f} | {r['cpu_s']:.3f} | {r['events_per_s']:.1f} | {r['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
