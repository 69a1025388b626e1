"""Loading YAML configs: file -> ``include:`` merge -> ``--set`` overrides.

>>> apply_overrides({"model": {"k": 4}}, ["model.k=16", "train.lr=1e-3"])
{'model': {'k': 16}, 'train': {'lr': 0.001}}
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from hepgraph.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` (no dot, YAML 1.1 says string) as a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with exponent floats such as ``1e-3`` read as numbers."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


CONFIG_KINDS = ("detectors", "sources", "experiments")


def configs_dir() -> Path:
    """The ``hepgraph/configs/`` directory shipped inside the package (and the wheel)."""
    return Path(__file__).resolve().parents[1] / "configs"


def shipped_names(kind: str) -> list[str]:
    """Names of the shipped YAML files of one kind (``detectors``, ``sources``, ...)."""
    folder = configs_dir() / kind
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def find_config(kind: str, name_or_path: str | Path) -> Path:
    """A YAML path as given, or the shipped ``configs/<kind>/<name>.yaml``.

    Args:
        kind: one of :data:`CONFIG_KINDS`.
        name_or_path: an existing file, or the name of a shipped file (with or without
            ``.yaml``).

    Raises:
        ConfigError: neither an existing file nor a shipped name (the message lists them).
    """
    if kind not in CONFIG_KINDS:
        raise ValueError(f"unknown config kind {kind!r}")
    p = Path(name_or_path)
    if p.is_file():
        return p
    name = str(name_or_path)
    if "/" not in name and "\\" not in name and not name.startswith("."):
        stem = name[:-5] if name.endswith(".yaml") else name
        if stem in shipped_names(kind):
            return configs_dir() / kind / f"{stem}.yaml"
    names = shipped_names(kind)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise ConfigError(
        f"`{name}` is neither a file nor a shipped {kind[:-1]} config.{hint} "
        f"Shipped: {', '.join(names) or 'none'}"
    )


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read one YAML mapping.

    Raises:
        ConfigError: missing file, YAML syntax error, or a top level that is not a mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file `{p}` does not exist")
    try:
        data = safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"`{p}` is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"`{p}` must hold a YAML mapping at top level, got {type(data).__name__}")
    return data


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; values of ``over`` win, nested mappings merge."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _resolve_includes(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"include cycle: {' -> '.join(str(p) for p in (*seen, path))}")
    data = load_yaml(path)
    incs = data.pop("include", []) or []
    if isinstance(incs, str):
        incs = [incs]
    merged: dict[str, Any] = {}
    for inc in incs:
        merged = deep_merge(merged, _resolve_includes((path.parent / inc), (*seen, path)))
    return deep_merge(merged, data)


def parse_set(item: str) -> tuple[list[str], Any]:
    """Split ``a.b=c`` into (["a", "b"], value parsed with ``yaml.safe_load``).

    Raises:
        ConfigError: no ``=`` or an empty key.
    """
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override `{item}` must look like key.path=value")
    try:
        value = safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(cfg: Mapping[str, Any], overrides: Iterable[str] | None) -> dict[str, Any]:
    """Apply ``--set`` strings to a config dict (creating intermediate mappings)."""
    out = copy.deepcopy(dict(cfg))
    for item in overrides or []:
        keys, value = parse_set(item)
        node = out
        for k in keys[:-1]:
            nxt = node.get(k)
            if nxt is None:
                nxt = node[k] = {}
            elif not isinstance(nxt, dict):
                raise ConfigError(f"override `{item}`: `{k}` is a value, not a section")
            node = nxt
        node[keys[-1]] = value
    return out


def load_config(path: str | Path | None, overrides: Iterable[str] | None = None) -> dict[str, Any]:
    """Load a config file with its includes, then apply ``--set`` overrides.

    Args:
        path: YAML file, or None for an empty base config.
        overrides: ``key.path=value`` strings.

    Returns:
        The merged, plain-dict config (validation is done by the consumer).
    """
    base = _resolve_includes(Path(path)) if path is not None else {}
    return apply_overrides(base, overrides)
