"""Shared helpers of the reproduced-study scripts (argument parsing, datasets, comparisons).

Every study script takes ``--scale small|full`` (small: minutes on a CPU; full: the study's
size, for a GPU; studies 2-4 also ``medium``: at most ~15 minutes on a 2-core CPU, study 1
at most ~30),
``--out DIR``, ``--seed`` and ``--device``, and writes a ``comparison.md`` (+ JSON, plots) per
comparison plus ``study.json`` with the study-specific numbers and the run's wall time, date
and load average.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


_START = {"time": time.perf_counter(), "load": os.getloadavg()}


def parse_args(description: str, default_out: str,
               scales: Sequence[str] = ("small", "full")) -> argparse.Namespace:
    """``--scale`` (one of ``scales``), ``--out``, ``--seed``, ``--device``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--scale", choices=tuple(scales), default="small",
                    help="small: a few CPU minutes; medium: <= ~15 CPU minutes (studies 2-4; study 1: "
                         "<= ~30); "
                         "full: the study's size (GPU)")
    ap.add_argument("--out", type=Path, default=Path(default_out), help="output directory")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--fit-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def simulate(source: str, out: Path, events: int, seed: int, params: Mapping[str, Any] | None = None) -> Path:
    """Build ``events`` events of a built-in simulator into ``out`` (rebuilt on every run: a
    few seconds to a minute, and never stale after a simulator or parameter change)."""
    import hepgraph.sources  # noqa: F401
    from hepgraph.registry import SOURCES
    from hepgraph.store import build_dataset

    src = SOURCES.get(source)(inputs=None, mapping=None, seed=seed, params={"events": events, **(params or {})})
    return build_dataset(src, out, max_events=events, seed=seed, overwrite=True)


def compare(data: Path, models: Mapping[str, Sequence[str]], out: Path, title: str, **kwargs: Any) -> dict[str, Any]:
    """Train/evaluate ``{label=model: overrides}`` with the same split/seed/epochs; write the report."""
    from hepgraph.compare import compare_models, write_comparison

    per = {k.partition("=")[0] if "=" in k else k: list(v) for k, v in models.items()}
    res = compare_models(data, list(models), out, model_overrides=per, **kwargs)
    write_comparison(res, out, title=title)
    for m in res["models"]:
        logging.getLogger("study").info("%s: test %s = %s", m["model"], m["headline"], m["test"].get(m["headline"]))
    return res


def save(out: Path, record: Mapping[str, Any]) -> None:
    """Write ``out/study.json`` (with the command, date, wall time and load averages of the run)."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    run = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "wall_seconds": round(time.perf_counter() - _START["time"], 1),
           "load_average_start": [round(v, 2) for v in _START["load"]],
           "load_average_end": [round(v, 2) for v in os.getloadavg()],
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
           "threads": torch.get_num_threads()}
    (out / "study.json").write_text(json.dumps({**record, "run": run}, indent=2, default=float))


def headline(res: Mapping[str, Any]) -> dict[str, Any]:
    """``{label: test headline value}`` of a comparison."""
    return {m["model"]: m["test"].get(m["headline"]) for m in res["models"]}
