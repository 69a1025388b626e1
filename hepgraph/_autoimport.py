"""Import every submodule of a package (fills the registries; modules import cheaply)."""

from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package: str, path: list[str]) -> None:
    """Import all modules and subpackages below ``package`` (skipping private ones)."""
    for info in pkgutil.walk_packages(path, prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        importlib.import_module(info.name)
