"""The run directory: where a training run writes, and small helpers that read or write it.

Run directory layout::

    RUN/config.yaml            fully resolved config (task statistics, features, extent)
    RUN/metrics.jsonl          one JSON line per epoch
    RUN/checkpoints/last.pt    written at every epoch end
    RUN/checkpoints/best.pt    the best epoch by the task's headline metric
    RUN/train.log              the log of the run
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from hepgraph.errors import ConfigError


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` -> the GPU of ``local_rank``.

    Args:
        name: ``auto``, ``cpu`` or ``cuda``.
        local_rank: the process's GPU index under DistributedDataParallel (0 otherwise).

    Raises:
        ConfigError: an unknown name, or ``cuda`` requested without a CUDA device.
    """
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device `{name}` is not one of auto, cpu, cuda; use --device auto|cpu|cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device `cuda` requested but no CUDA device is available; use --device cpu")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file through a temporary sibling and rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def is_run_dir(path: Path) -> bool:
    """A run directory has ``config.yaml`` and ``checkpoints/last.pt``."""
    return (path / "config.yaml").is_file() and (path / "checkpoints" / "last.pt").is_file()
