"""Mapping expressions, parsed with :mod:`ast` against a whitelist.

A small tree walker evaluates them on numpy / awkward arrays; nothing is ever passed to
``eval``.

An expression names file columns (ROOT branches, HDF5 arrays) and mapped columns, and
combines them with arithmetic, comparisons and a fixed set of functions::

    Evt/hits/hits.t - Evt/t0          # full branch paths: slashes and dots are part of a name
    sqrt(hit_x**2 + hit_y**2)
    (Laystrip // 1000) * 100.0
    point[:, 3]                       # column 3 of a per-event (N, k) table
    trkhits.edep                      # field of a record (struct) branch
    repeat(cluster[:, 4], cluster[:, 0])   # per-event: each value repeated count times
    `odd name-with-dash` * 2          # backticks (or get("...")) quote any name

Names are matched against the known names longest first, so ``Evt/hits/hits.t`` is one
branch, not a division; write spaces (``a / b``) to divide two names. A name that is not
known is an error that lists close matches.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError

_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_START = re.compile(r"[A-Za-z_]")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
CONSTANTS = {"pi": np.pi, "inf": np.inf, "nan": np.nan, "true": True, "false": False}


def _ak() -> Any:
    import awkward as ak

    return ak


def _reducer(name: str) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        ak = _ak()
        if name == "num":
            return ak.num(x, axis=-1)
        if name == "first":
            return ak.firsts(x, axis=-1)
        return getattr(ak, name)(x, axis=-1)
    return f


def _repeat(values: Any, counts: Any) -> Any:
    """Per event: ``values[i]`` repeated ``counts[i]`` times (both lists of one length per event)."""
    ak = _ak()
    values, counts = ak.Array(values), ak.Array(counts)
    c = np.asarray(ak.to_numpy(ak.flatten(counts, axis=None))).astype(np.int64)
    v = np.asarray(ak.to_numpy(ak.flatten(values, axis=None)))
    if (c < 0).any():
        raise DataError("repeat(values, counts): a count is negative")
    per_event = np.asarray(ak.to_numpy(ak.sum(counts, axis=-1))).astype(np.int64)
    return ak.unflatten(np.repeat(v, c), per_event)


def _np1(name: str) -> Callable[..., Any]:
    fn = getattr(np, name)
    return lambda *a: fn(*a)


#: Functions an expression may call (numpy ufuncs work element by element on lists).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{n: _np1(n) for n in (
        "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
        "arctan2", "sinh", "cosh", "tanh", "hypot", "floor", "ceil", "rint", "sign", "isfinite",
        "minimum", "maximum", "fmod", "degrees", "radians", "abs")},
    "where": lambda c, a, b: _ak().where(c, a, b),
    "int": lambda x: x.astype(np.int64) if hasattr(x, "astype") else _ak().values_astype(x, np.int64),
    "float": lambda x: x.astype(np.float64) if hasattr(x, "astype") else _ak().values_astype(x, np.float64),
    "repeat": _repeat,
    **{n: _reducer(n) for n in ("num", "sum", "min", "max", "mean", "first", "any", "all")},
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression.

    Attributes:
        text: the expression as written.
        names: the names it reads, in order of first use (each a key of the known names).
        node: the checked syntax tree (placeholders ``__n<i>`` stand for ``names[i]``).
    """

    text: str
    names: tuple[str, ...]
    node: ast.AST = field(repr=False, compare=False)


def _substitute(text: str, ordered: list[str]) -> tuple[str, list[str]]:
    """Replace known names (longest first), backtick names and ``get("...")`` by placeholders."""
    out, used, i, n = [], [], 0, len(text)

    def slot(name: str) -> str:
        if name not in used:
            used.append(name)
        return f"__n{used.index(name)}"

    while i < n:
        c = text[i]
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise ConfigError(f"expression `{text}`: unclosed backtick")
            out.append(slot(text[i + 1 : j]))
            i = j + 1
            continue
        m = re.match(r"get\(\s*(['\"])(.*?)\1\s*\)", text[i:])
        if m and (i == 0 or not _NAME_CHAR.match(text[i - 1])):
            out.append(slot(m.group(2)))
            i += m.end()
            continue
        if c in "'\"":
            raise ConfigError(f"expression `{text}`: strings are only allowed in get(\"name\")")
        if _START.match(c) and (i == 0 or not (_NAME_CHAR.match(text[i - 1]) or text[i - 1] == ".")):
            hit = next((k for k in ordered if text.startswith(k, i)
                        and (i + len(k) == n or not _NAME_CHAR.match(text[i + len(k)]))
                        and not (k in FUNCTIONS and text[i + len(k):].lstrip().startswith("("))), None)
            if hit is not None:
                out.append(slot(hit))
                i += len(hit)
                continue
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:])
            out.append(m.group(0))
            i += m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out), used


def compile_expr(text: str | float | int, known: Iterable[str], where: str = "mapping") -> Expression:
    """Parse ``text`` against the ``known`` names.

    Args:
        text: the expression (a number is a constant).
        known: names it may read (branch paths, short names, array or column names).
        where: what the expression belongs to, for messages (``hits.x``).

    Raises:
        ConfigError: a syntax error or a construct outside the whitelist (the message lists
            what is allowed).
        DataError: a name that is not among ``known`` (the file lacks it; lists close matches).
    """
    src = str(text).strip()
    known = list(dict.fromkeys(known))
    ordered = sorted(known, key=len, reverse=True)
    sub, used = _substitute(src, ordered)
    try:
        tree = ast.parse(sub, mode="eval")
    except SyntaxError as err:
        raise ConfigError(f"{where}: expression `{src}` is not valid ({err.msg}); see docs/mapping.md "
                          "for the syntax") from None
    for node in ast.walk(tree):
        _check(node, src, where, used, known)
    return Expression(src, tuple(used), tree)


def _shown(node: ast.AST, names: Iterable[str]) -> str:
    """The source text of ``node`` with the user's names in place of the ``__n<i>`` placeholders."""
    names = list(names)
    return re.sub(r"__n(\d+)", lambda m: names[int(m.group(1))], ast.unparse(node))


def _check(node: ast.AST, src: str, where: str, used: list[str], known: list[str]) -> None:
    ok = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Name,
          ast.Constant, ast.Attribute, ast.Subscript, ast.Load, ast.Tuple, ast.Slice,
          ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert, *_BINOPS, *_CMPOPS)
    if not isinstance(node, ok):
        raise ConfigError(f"{where}: `{type(node).__name__}` is not allowed in expression `{src}`; "
                          "allowed: names, numbers, + - * / // % ** & | ^ ~ << >>, comparisons, "
                          f"and/or/not, [:, k], .field and the functions {', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.Name) and not node.id.startswith("__n") and node.id not in CONSTANTS \
            and node.id.lower() not in CONSTANTS and node.id not in FUNCTIONS:
        close = difflib.get_close_matches(node.id, known, n=3, cutoff=0.5)
        hint = f" (close matches: {', '.join(close)})" if close else ""
        raise DataError(f"{where}: unknown name `{node.id}` in expression `{src}`{hint}; use a "
                        "branch/array or column name of the file, or quote odd names with backticks")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            name = _shown(node.func, used)
            raise ConfigError(f"{where}: `{name}(...)` in `{src}` is not an allowed function "
                              f"(positional arguments only); functions: {', '.join(sorted(FUNCTIONS))}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool)):
        raise ConfigError(f"{where}: constant `{node.value!r}` in `{src}` must be a number")
    if isinstance(node, ast.Subscript) and _column_index(node.slice) is None:
        raise ConfigError(f"{where}: subscript `{_shown(node, used)}` in `{src}`: only `[:, k]` "
                          "(column k of a per-event table) is allowed")


def _column_index(s: ast.AST) -> int | None:
    if (isinstance(s, ast.Tuple) and len(s.elts) == 2 and isinstance(s.elts[0], ast.Slice)
            and s.elts[0].lower is s.elts[0].upper is s.elts[0].step is None
            and isinstance(s.elts[1], ast.Constant) and isinstance(s.elts[1].value, int)):
        return int(s.elts[1].value)
    return None


def evaluate(expr: Expression, values: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` with ``values[name]`` for each of ``expr.names``.

    Raises:
        DataError: a name has no value, a field or column does not exist.
    """
    env = {f"__n{i}": values[n] for i, n in enumerate(expr.names)}
    return _eval(expr.node.body, env, expr)


def _eval(node: ast.AST, env: dict[str, Any], expr: Expression) -> Any:  # noqa: C901 - one case per node
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in FUNCTIONS:
            raise DataError(f"`{node.id}` in `{expr.text}` is a function; call it: {node.id}(...)")
        return CONSTANTS[node.id.lower()]
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env, expr), _eval(node.right, env, expr)
        if isinstance(node.op, (ast.Pow, ast.LShift)) and isinstance(b, int) and abs(b) > 1024:
            raise DataError(f"`{expr.text}`: exponent/shift {b} is too large")  # 10**10**10 would never end
        try:
            return _BINOPS[type(node.op)](a, b)
        except (ZeroDivisionError, OverflowError, ValueError) as err:  # 1 / 0, 2 ** 1024 * 1.0, 1 << -1
            if isinstance(err, ValueError) and not all(isinstance(x, (int, float)) for x in (a, b)):
                raise
            raise DataError(f"`{expr.text}`: `{_shown(node, expr.names)}` cannot be computed ({err}); "
                            "fix the numbers in the expression") from None
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, expr)
        if isinstance(node.op, ast.Not):
            return np.logical_not(v)
        return {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}[type(node.op)](v)
    if isinstance(node, ast.BoolOp):
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = _eval(node.values[0], env, expr)
        for v in node.values[1:]:
            out = fn(out, _eval(v, env, expr))
        return out
    if isinstance(node, ast.Compare):
        left, out = _eval(node.left, env, expr), None
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env, expr)
            r = _CMPOPS[type(op)](left, right)
            out = r if out is None else np.logical_and(out, r)
            left = right
        return out
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*[_eval(a, env, expr) for a in node.args])
    if isinstance(node, ast.Attribute):
        v = _eval(node.value, env, expr)
        fields = list(getattr(v, "fields", None) or getattr(getattr(v, "dtype", None), "names", None) or [])
        if node.attr not in fields:
            raise DataError(f"`{expr.text}`: `{_shown(node.value, expr.names)}` has no field `{node.attr}`; "
                            f"fields: {', '.join(fields) or 'none (not a record)'}")
        return v[node.attr]
    if isinstance(node, ast.Subscript):
        v, k = _eval(node.value, env, expr), _column_index(node.slice)
        try:
            return v[..., k]
        except Exception:
            raise DataError(f"`{expr.text}`: `{_shown(node.value, expr.names)}` has no column {k} "
                            "(is it a per-event table with a `width`?)") from None
    raise DataError(f"`{expr.text}`: cannot evaluate `{_shown(node, expr.names)}`")  # pragma: no cover


__all__ = ["Expression", "compile_expr", "evaluate", "FUNCTIONS", "CONSTANTS"]
