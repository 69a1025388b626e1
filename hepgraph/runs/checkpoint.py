"""Checkpoints: atomic writes, ``torch.load(weights_only=True)``-safe contents.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only:
``model``, ``task`` (state dicts), ``optimizer``, ``scheduler``, ``scaler``, ``epoch``
(epochs completed), ``step``, ``rng`` (torch/cuda/numpy/python states as tensors),
``config`` (resolved run config, JSON), ``features`` (JSON), ``manifest_hash``,
``best`` (headline metric so far), ``stale`` (epochs since improvement), ``version``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepgraph import __version__
from hepgraph.errors import DataError

FORMAT = "hepgraph-checkpoint-1"
REQUIRED_KEYS = ("format", "model", "config", "features", "epoch")


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a dataset manifest."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()


def rng_state() -> dict[str, Any]:
    """All RNG states as tensors (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": int(np_state[2]),
        "numpy_gauss": [int(np_state[3]), float(np_state[4])],
        "python": torch.tensor(py_state[1], dtype=torch.int64),
        "python_version": int(py_state[0]),
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the states written by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    keys = state["numpy_keys"].numpy().astype(np.uint32)
    g = state["numpy_gauss"]
    np.random.set_state(("MT19937", keys, int(state["numpy_pos"]), int(g[0]), float(g[1])))
    random.setstate((int(state["python_version"]), tuple(int(v) for v in state["python"].tolist()), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` atomically (temporary sibling, fsync, rename).

    Args:
        path: destination (``checkpoints/last.pt``).
        state: the checkpoint dict (see module docstring); ``format``/``version`` are added.
    """
    from hepgraph.atomic import os_error

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    payload = {"format": FORMAT, "version": __version__, **state}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:  # full disk, read-only: one line, and no temporary file left
        raise os_error(err, "write the checkpoint", path) from err
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        DataError: missing, truncated, corrupt or not a hepgraph checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint `{path}` does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"checkpoint `{path}` is corrupt or not a hepgraph checkpoint ({first[:120]}); "
            "use another checkpoint (checkpoints/best.pt or last.pt) or retrain"
        ) from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS) or ckpt["format"] != FORMAT:
        raise DataError(f"checkpoint `{path}` is not a hepgraph checkpoint (missing keys or format)")
    for key, kind in (("config", dict), ("features", list)):
        try:
            ok = isinstance(json.loads(ckpt[key]), kind)
        except (TypeError, ValueError):  # not a string, or not JSON (an edited or damaged checkpoint)
            ok = False
        if not ok:
            raise DataError(f"checkpoint `{path}` has a damaged `{key}` record (not the JSON {kind.__name__} "
                            "training stores); use another checkpoint (checkpoints/best.pt or last.pt) or retrain")
    return ckpt


def config_of(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved run config stored in a checkpoint."""
    return json.loads(ckpt["config"])


def features_of(ckpt: Mapping[str, Any]) -> list[Any]:
    """The feature spec stored in a checkpoint."""
    return json.loads(ckpt["features"])
