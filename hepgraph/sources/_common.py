"""Helpers shared by the file readers: input paths, globs, params checks, mapping files."""

from __future__ import annotations

import difflib
import glob
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hepgraph.errors import ConfigError, DataError, setting


def expand_inputs(
    inputs: Sequence[str | Path] | None, *, source: str, patterns: Sequence[str] = ("*",)
) -> list[Path]:
    """Expand files, directories (matched against ``patterns``) and globs, sorted, deduplicated.

    Raises:
        ConfigError: no inputs were given.
        DataError: a path does not exist, or a glob/directory matches no file.
    """
    if not inputs:
        raise ConfigError(f"source `{source}` needs input files: pass {setting('input', 'PATH')} (files, directories or globs)")
    out: list[Path] = []
    for raw in inputs:
        s = str(raw)
        if any(c in s for c in "*?["):
            hits = sorted(Path(p) for p in glob.glob(s, recursive=True))
            hits = [p for p in hits if p.is_file()]
            if not hits:
                raise DataError(f"input glob `{s}` matches no file; check the pattern")
            out.extend(hits)
            continue
        p = Path(s)
        if p.is_dir():
            found = sorted({q for pat in patterns for q in p.glob(pat) if q.is_file()})
            if not found:
                raise DataError(f"input directory `{p}` holds no {' or '.join(patterns)} file")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif p.exists():
            raise DataError(f"input `{p}` is not a regular file or directory (a device, socket or pipe); "
                            f"give files or directories in {setting('input')}")
        else:
            raise DataError(f"input file `{p}` does not exist; check {setting('input')}")
    seen: set[Path] = set()
    uniq = []
    for p in out:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            uniq.append(p)
    return uniq


def check_keys(given: Mapping[str, Any], valid: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` for a key not in ``valid`` (with a close match)."""
    valid = list(valid)
    for key in given:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise ConfigError(f"{where}: unknown key `{key}`{hint}; valid keys: {', '.join(valid)}")


def merge_params(defaults: Mapping[str, Any], params: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """Defaults updated by ``params`` (``--set`` values), rejecting unknown keys."""
    params = dict(params or {})
    check_keys(params, defaults, where)
    return {**defaults, **params}


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """`` (close matches: a, b)`` or ``""``."""
    close = difflib.get_close_matches(name, list(dict.fromkeys(candidates)), n=n, cutoff=0.5)
    return f" (close matches: {', '.join(close)})" if close else ""


def check_numbers(col: Any, column: str, where: str, fix: str, item: str = "value") -> None:
    """Raise :class:`DataError` when a text column (strings or bytes, or lists of them) holds a
    value that is not a number: every hepgraph column is stored as numbers, and the cast at
    validation would report neither the file nor the fix.

    Args:
        col: a pyarrow array or chunked array; columns of numbers pass without a look.
        column: how the message names the column (e.g. ``"column `Y` (hits.y)"``).
        where: the file (and part of it) the column was read from.
        fix: what the user can do, appended to the message.
        item: what one value is called in the message (``"data row"`` for a CSV).

    Raises:
        DataError: names the column, the first value that is not a number, ``where`` and ``fix``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = col.type
    nested = pa.types.is_list(typ) or pa.types.is_large_list(typ)
    inner = typ.value_type if nested else typ
    if not any(f(inner) for f in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                  pa.types.is_large_binary)):
        return
    flat = pc.list_flatten(col) if nested else col
    try:
        text = flat if pa.types.is_string(inner) or pa.types.is_large_string(inner) else pc.cast(flat, pa.string())
        pc.cast(text, pa.float64())
        return
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    bad = first_non_number(flat.to_pylist())
    if bad is not None:
        raise DataError(f"{where}: {column} holds text where a number is needed (`{bad[1]}`, {item} {bad[0] + 1}); "
                        f"{fix}")


def first_non_number(values: Iterable[Any]) -> tuple[int, str] | None:
    """Index and (shortened) text of the first value ``float`` cannot read, or None.

    Values are str or bytes; None is skipped.
    """
    for i, v in enumerate(values):
        s = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        if s is None:
            continue
        try:
            float(s)
        except ValueError:
            s = str(s)
            return i, s if len(s) <= 40 else s[:37] + "..."
    return None
