"""A generic name -> callable registry, and the project's registry instances.

>>> from hepgraph.registry import Registry
>>> R = Registry("thing")
>>> @R.register("my-thing")
... def my_thing(size: int = 3) -> dict:
...     return {"size": size}
>>> R.build({"name": "my-thing", "size": 4})
{'size': 4}
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hepgraph.errors import ConfigError, UnknownNameError
from hepgraph.plugins import load_plugins


class Registry:
    """Maps kebab-case names to callables (classes or factory functions).

    Args:
        kind: what the registry holds, used in error messages ("model", "source", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., Any]] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} entries)"

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def register(
        self, name: str, *, override: bool = False, **meta: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator registering a callable under ``name``; ``meta`` is kept for listings."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._items and not override:
                raise ConfigError(
                    f"{self.kind} `{name}` is registered twice; pass override=True to replace it"
                )
            self._items[name] = fn
            self._meta[name] = dict(meta)
            return fn

        return deco

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted registered names matching an fnmatch ``pattern`` (plugins included)."""
        load_plugins()
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def meta(self, name: str) -> dict[str, Any]:
        """Metadata given at registration (family, representation, ...)."""
        self.get(name)
        return dict(self._meta.get(name, {}))

    def get(self, name: str) -> Callable[..., Any]:
        """Look up a registered callable by name (components of installed plugins included).

        Only registered names resolve: a name read from a file never imports code.

        Raises:
            UnknownNameError: the name is not registered (lists valid names, suggests one).
        """
        if name not in self._items:
            load_plugins()
        if isinstance(name, str) and name in self._items:
            return self._items[name]
        if isinstance(name, str) and ":" in name:
            raise UnknownNameError(
                f"{self.kind} `{name}` is not registered: hepgraph resolves names only to "
                f"registered components and never imports a `module:callable` path; register "
                f"your code as a plugin (entry point group `hepgraph.plugins`). "
                f"Available: {', '.join(self.names())}"
            )
        close = difflib.get_close_matches(str(name), list(self._items), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} `{name}`.{hint} Available: {', '.join(self.names())}"
        )

    def build(self, cfg: str | Mapping[str, Any], **extra: Any) -> Any:
        """Build from ``"name"`` or ``{"name": ..., **kwargs}``; ``None`` kwargs are dropped.

        Raises:
            ConfigError: a keyword is not accepted by the registered callable.
        """
        if isinstance(cfg, str):
            name, kwargs = cfg, {}
        else:
            if "name" not in cfg:
                raise ConfigError(f"a {self.kind} block needs a `name` key, got {dict(cfg)}")
            kwargs = {k: v for k, v in cfg.items() if k != "name"}
            name = cfg["name"]
        kwargs.update(extra)
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        fn = self.get(name)
        check_kwargs(fn, kwargs, where=self.kind)
        return fn(**kwargs)


def unknown_key(path: str, key: str, valid: list[str]) -> ConfigError:
    """The one message for a key that is not accepted: ``path.key: unknown key (did you mean x?)``."""
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f"did you mean {close[0]}?" if close else f"valid: {', '.join(sorted(valid)) or 'none'}"
    return ConfigError(f"{path + '.' if path else ''}{key}: unknown key ({hint})")


def check_kwargs(fn: Callable[..., Any], kwargs: Mapping[str, Any], where: str = "",
                 injected: tuple[str, ...] = ()) -> None:
    """Check a component block's keywords against ``fn``'s signature (the one keyword checker).

    Args:
        fn: the registered callable (a class or a factory).
        kwargs: the user's keyword arguments.
        where: key path for messages (``model``, ``task``, ``train.optimizer``).
        injected: parameters hepgraph fills itself (not user keys).

    Raises:
        ConfigError: ``where.key: unknown key (did you mean ...?)``, or an injected key given.
    """
    for key in injected:
        if key in kwargs:
            raise ConfigError(f"{where}.{key}: set by hepgraph from the data; remove it from the config")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items()
             if p.kind is not inspect.Parameter.VAR_POSITIONAL and n not in injected and n != "self"]
    for key in kwargs:
        if key not in valid:
            raise unknown_key(where, key, valid)


MODELS = Registry("model")
SOURCES = Registry("source")
TASKS = Registry("task")
CLUSTERERS = Registry("clusterer")
OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")
