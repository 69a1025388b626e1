"""Where a run came from: command line, package versions, git commit, machine.

:func:`record_provenance` appends one entry per training session (the first run and each
``--resume``) to ``RUN/provenance.json``::

    {"sessions": [{"started": "2026-12-07T10:31:02+00:00", "command": "hepgraph train ...",
                   "cwd": "...", "python": "3.11.7", "packages": {"hepgraph": "0.1.0", ...},
                   "git": {"commit": "d421b91...", "dirty": false, "path": "..."},
                   "machine": {"hostname": ..., "platform": ..., "cpus": 2, "memory_gib": 7.7,
                               "gpus": ["NVIDIA H100 80GB HBM3"], "torch_threads": 2}}]}
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Distributions whose versions are recorded (those absent are skipped).
PACKAGES = ("hepgraph", "torch", "torch-geometric", "numpy", "scipy", "scikit-learn", "pyarrow",
            "uproot", "awkward", "h5py", "onnx", "onnxruntime", "tensorboard", "MinkowskiEngine")


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``importlib.metadata``; missing ones left out)."""
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_state(path: str | Path | None = None) -> dict[str, Any] | None:
    """Commit and dirty flag of the git checkout holding ``path`` (default: the hepgraph
    sources), or None when it is not in a checkout or git is missing."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        top = git("rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty, "path": top}


def machine() -> dict[str, Any]:
    """Host name, OS, CPU, core count, memory, GPUs and torch threads of this process."""
    info: dict[str, Any] = {"hostname": platform.node(), "platform": platform.platform(),
                            "processor": platform.processor() or platform.machine(),
                            "cpus": os.cpu_count()}
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            info["cuda"] = torch.version.cuda
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return info


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """One session's entry: start time (UTC), command line, cwd, versions, git, machine."""
    args = list(sys.argv if argv is None else argv)
    if args:
        first = Path(args[0])  # ".../bin/hepgraph" -> "hepgraph", ".../hepgraph/__main__.py" -> "python -m hepgraph"
        args[0] = f"python -m {first.parent.name}" if first.name == "__main__.py" else first.name
    return {"started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([args[0], shlex.join(args[1:])]).strip() if args else "", "cwd": os.getcwd(), "python": platform.python_version(),
            "packages": package_versions(), "git": git_state(), "machine": machine()}


def record_provenance(run_dir: str | Path, argv: Sequence[str] | None = None) -> Path:
    """Append this session to ``RUN/provenance.json`` (written atomically); returns the file."""
    from hepgraph.atomic import atomic_file

    path = Path(run_dir) / "provenance.json"
    sessions: list[Any] = []
    if path.is_file():
        try:
            sessions = list(json.loads(path.read_text()).get("sessions", []))
        except (ValueError, AttributeError):
            sessions = []  # a damaged file is replaced, not fatal to training
    sessions.append(provenance(argv))
    with atomic_file(path, overwrite=True, what="provenance file") as tmp:
        tmp.write_text(json.dumps({"sessions": sessions}, indent=1) + "\n")
    return path
