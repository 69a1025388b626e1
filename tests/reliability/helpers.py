"""Shared checks of the reliability tests."""

from __future__ import annotations

import shutil
from pathlib import Path


def one_line_exit2(res, pattern: str) -> str:
    """The CLI failed with status 2 and one line on stderr containing ``pattern``."""
    assert res.exit_code == 2, res.output
    err = (res.stderr if hasattr(res, "stderr") else res.output).strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert pattern in err, err
    return err


def copy_dataset(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def flip(path: Path, offset: int, n: int = 1) -> None:
    """Flip ``n`` bytes of ``path`` starting at ``offset`` (negative: from the end)."""
    data = bytearray(path.read_bytes())
    start = offset % len(data)
    for i in range(start, min(start + n, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
