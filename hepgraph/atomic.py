"""Writing outputs without data loss: refuse an existing target unless told to replace it,
write to a temporary sibling, rename at the end, and leave nothing behind on failure.

Every command that writes a file or a directory goes through :func:`atomic_file` or
:func:`atomic_dir`, so a crash, a full disk or Ctrl-C never leaves a half-written output
and never destroys the previous one.

>>> from hepgraph.atomic import atomic_file
>>> with atomic_file("metrics.json", overwrite=False) as tmp:     # doctest: +SKIP
...     tmp.write_text("{}")
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hepgraph.errors import FileSystemError, OutputExistsError, setting

_FIXES = {
    errno.ENOSPC: "free space on that disk or write somewhere else",
    errno.EDQUOT: "free space (quota) or write somewhere else",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EACCES: "you may not write there; choose another path or fix its permissions",
    errno.EPERM: "you may not write there; choose another path or fix its permissions",
    errno.ENOENT: "check the path",
    errno.EEXIST: "a file of that name is in the way; choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a directory; check the path",
    errno.EISDIR: "the path is a directory; give a file name",
    errno.ENAMETOOLONG: "use a shorter path",
}


def os_error(err: OSError, action: str, path: str | os.PathLike[str] | None = None) -> FileSystemError:
    """A one-line :class:`FileSystemError` for an ``OSError`` met while ``action`` (e.g. "writing").

    Args:
        err: the error the operating system raised.
        action: what was being done, in words ("writing", "reading", "creating").
        path: the path the user gave (defaults to the error's own file name).
    """
    where = path if path is not None else (err.filename or "")
    fix = _FIXES.get(err.errno or -1, "check the path and its permissions")
    return FileSystemError(f"cannot {action} `{where}`: {err.strerror or err}; {fix}")


def refuse_existing(path: str | os.PathLike[str], overwrite: bool, what: str = "output") -> Path:
    """Raise :class:`OutputExistsError` when ``path`` exists and ``overwrite`` is false.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise OutputExistsError(f"{what} `{p}` exists; pass {setting('overwrite', True)} to replace it, "
                                "or choose another path")
    return p


def _tmp_sibling(path: Path, kind: str) -> Path:
    # the suffix stays last so writers that pick a format from it (onnx, parquet) still work
    return path.with_name(f".{path.stem}.{kind}-{os.getpid()}{path.suffix}")


@contextmanager
def atomic_file(path: str | os.PathLike[str], *, overwrite: bool = False,
                what: str = "output") -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it onto ``path`` on success.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false (checked before and
            again at the end, so nothing is written over a file that appeared meanwhile).
        FileSystemError: the directory is missing, read-only, full, ...
    """
    target = refuse_existing(path, overwrite, what)
    if target.is_dir():
        raise FileSystemError(f"{what} `{target}` is a directory; give a file name")
    tmp = _tmp_sibling(target, "tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        refuse_existing(target, overwrite, what)
        os.replace(tmp, target)
    except OSError as err:
        if isinstance(err, FileSystemError | OutputExistsError):
            raise
        raise os_error(err, "write", target) from err
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False,
               what: str = "output directory") -> Iterator[Path]:
    """Yield a fresh temporary sibling directory of ``path``; swap it in on success.

    An existing ``path`` (with ``overwrite``) is renamed aside first and deleted only after
    the new directory is in place, so a kill at any moment leaves one complete directory
    (the old or the new one) under ``path`` or beside it.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
        FileSystemError: the parent is missing, read-only, full, ...
    """
    target = refuse_existing(path, overwrite, what)
    if target.exists() and not target.is_dir():
        raise FileSystemError(f"{what} `{target}` is a file; give a directory path")
    tmp = _tmp_sibling(target, "tmp")
    old = _tmp_sibling(target, "old")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        yield tmp
        refuse_existing(target, overwrite, what)
        if target.exists():
            os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        if isinstance(err, FileSystemError | OutputExistsError):
            raise
        raise os_error(err, "write", target) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not target.exists():  # killed between the renames: put it back
            os.rename(old, target)
