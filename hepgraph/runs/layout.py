"""The run directory: where a training run writes, and small helpers that read or write it.

Run directory layout::

    RUN/config.yaml            fully resolved config (task statistics, features, extent)
    RUN/metrics.jsonl          one JSON line per epoch
    RUN/checkpoints/last.pt    written at every epoch end
    RUN/checkpoints/best.pt    the best epoch by the task's headline metric
    RUN/train.log              the log of the run
    RUN/.lock                  held (fcntl) by the process training into RUN
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from hepgraph.errors import ConfigError, FileSystemError, setting

LOCK_NAME = ".lock"


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` -> the GPU of ``local_rank``.

    Args:
        name: ``auto``, ``cpu`` or ``cuda``.
        local_rank: the process's GPU index under DistributedDataParallel (0 otherwise).

    Raises:
        ConfigError: an unknown name, or ``cuda`` requested without a CUDA device.
    """
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device `{name}` is not one of auto, cpu, cuda; set {setting('device')} to one of them")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device `cuda` requested but no CUDA device is available; use {setting('device', 'cpu')}")
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


def is_empty_dir(path: Path) -> bool:
    """``path`` is missing, or a directory holding nothing but a stale lock file."""
    if not path.exists():
        return True
    if not path.is_dir():
        raise FileSystemError(f"run directory `{path}` is a file; give a directory path")
    return all(p.name == LOCK_NAME for p in path.iterdir())


@contextmanager
def run_dir_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run directory ``path`` (created if missing).

    Raises:
        ConfigError: another process holds the lock (two trainings into one directory).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(f"run directory `{path}` is in use by another training (pid {holder}); "
                          "wait for it to end or train into another directory") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def clear_run_dir(path: Path) -> None:
    """Replace the run directory ``path`` by an empty one, never leaving a mix of two runs.

    The old directory is locked (so a training still writing there is not destroyed), renamed
    aside in one step and deleted; a kill at any point leaves either the old run whole or an
    empty ``path`` (plus a hidden ``.<name>.old-<pid>`` sibling to delete by hand).

    Raises:
        ConfigError: a training is running in ``path``.
    """
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    with run_dir_lock(path):
        os.rename(path, old)
    path.mkdir(parents=True)
    shutil.rmtree(old, ignore_errors=True)
