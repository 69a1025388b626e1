"""Resource measurements for model comparisons: peak memory, parameter counts, timers.

Peak memory is the CPU resident set (RSS) high-water mark of this process, reset before each
measured phase where the kernel allows it (Linux ``/proc/self/clear_refs``), reported as the
growth over the RSS at the reset; on CUDA it is ``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats``. Both in MiB.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_kib(key: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mib() -> float:
    """Current resident set size of this process (MiB)."""
    cur = _status_kib("VmRSS")
    if cur is not None:
        return cur / 1024.0
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mib() -> float:
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024.0
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # bytes on macOS, KiB on Linux
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


@dataclass
class PeakMemory:
    """Context manager measuring the peak memory of the enclosed code.

    Attributes:
        device: ``cpu`` (RSS) or ``cuda`` (max allocated).
        peak_mib: after exit, the peak growth over the start (MiB; CUDA: the absolute peak
            of allocated memory).
        resettable: False when the RSS peak could not be reset (then ``peak_mib`` is the
            process-lifetime peak minus the RSS at start, an upper bound).
    """

    device: str = "cpu"
    peak_mib: float = float("nan")
    resettable: bool = True
    _base: float = 0.0

    def __enter__(self) -> PeakMemory:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return self
        try:
            _CLEAR.write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        except OSError:
            self.resettable = False
        self._base = rss_mib()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            self.peak_mib = torch.cuda.max_memory_allocated() / 2**20
        else:
            self.peak_mib = max(_peak_rss_mib() - self._base, 0.0)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (CUDA synchronised when ``cuda``)."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.seconds = float("nan")

    def __repr__(self) -> str:
        return f"Timer(device={self.device!r}, seconds={self.seconds:.4g})"

    def __enter__(self) -> Timer:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self._t0


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
