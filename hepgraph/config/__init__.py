"""YAML configuration: ``include:`` merging and ``--set a.b=c`` overrides.

Only ``config/`` and ``cli/`` know about YAML; the library itself takes Python kwargs.
"""

from __future__ import annotations

from hepgraph.config.load import (
    CONFIG_KINDS,
    apply_overrides,
    configs_dir,
    deep_merge,
    find_config,
    load_config,
    load_yaml,
    parse_set,
    safe_load,
    shipped_names,
)

__all__ = [
    "CONFIG_KINDS", "apply_overrides", "configs_dir", "deep_merge", "find_config", "load_config",
    "load_yaml", "parse_set", "safe_load", "shipped_names",
]
