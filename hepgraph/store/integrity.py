"""Shard integrity: a manifest may name only files inside its dataset, and every shard is
checked against the SHA-256 the manifest records the first time a process reads it.

The check is cached per process by (real path, size, modification time), so views, splits
and loader workers forked after the first read do not hash again, and a file changed after
it was checked is checked again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from hepgraph.errors import DataError
from hepgraph.store.manifest import sha256_file

_checked: dict[tuple[str, int, int], str] = {}


def shard_path(dataset: Path, entry: Mapping[str, Any]) -> Path:
    """The file of one manifest ``shards`` entry, refused unless it lies inside ``dataset``.

    Raises:
        DataError: the path is absolute, climbs out with ``..``, or leads outside the dataset
            (through a link); or the entry is malformed.
    """
    rel = entry.get("path") if isinstance(entry, Mapping) else None
    if not isinstance(rel, str) or not rel:
        raise DataError(f"the manifest of `{dataset}` has a shard entry without a path; rebuild the dataset")
    parts = PurePosixPath(rel).parts
    if (PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or ".." in parts
            or "\\" in rel):
        raise DataError(f"the manifest of `{dataset}` names shard `{rel}` outside the dataset directory; "
                        "a dataset may only read its own files: rebuild it")
    path = dataset / rel
    root = dataset.resolve()
    real = path.resolve()
    if real != root and root not in real.parents:
        raise DataError(f"shard `{rel}` of `{dataset}` links outside the dataset directory; rebuild it")
    return path


def check_shard(path: Path, entry: Mapping[str, Any]) -> None:
    """Compare ``path`` with the SHA-256 its manifest entry records (once per process).

    Raises:
        DataError: the shard is missing, unreadable or its checksum does not match.
    """
    want = entry.get("sha256")
    if not want:  # hand-made datasets without checksums are read as they are
        return
    try:
        st = os.stat(path)
    except OSError:
        raise DataError(f"shard `{entry.get('path')}` of `{path.parent}` is missing; rebuild the dataset") from None
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if _checked.get(key) == want:
        return
    try:
        got = sha256_file(path)
    except OSError as err:
        raise DataError(f"shard `{path}` cannot be read ({err.strerror}); check the file") from None
    if got != want:
        raise DataError(f"shard `{path}` does not match the SHA-256 in its manifest (the file changed "
                        "or is corrupt); rebuild the dataset or restore the file")
    _checked[key] = want


def verify_dataset(directory: str | Path, progress: Any = None) -> dict[str, Any]:
    """Check every shard of a dataset (paths and SHA-256), whatever was checked before.

    Args:
        directory: the dataset directory.
        progress: optional callable ``progress(bytes_done)`` called after each shard.

    Returns:
        ``{"shards": n, "bytes": total, "ok": True}``.

    Raises:
        DataError: the first shard that is outside the dataset, missing or corrupt.
    """
    from hepgraph.store.manifest import read_manifest

    d = Path(directory)
    manifest = read_manifest(d)
    total = 0
    for entry in manifest["shards"]:
        path = shard_path(d, entry)
        _checked.pop((os.path.realpath(path), *_stat(path)), None)
        check_shard(path, entry)
        size = path.stat().st_size
        total += size
        if progress is not None:
            progress(size)
    return {"shards": len(manifest["shards"]), "bytes": total, "ok": True}


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)
