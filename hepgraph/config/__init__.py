"""YAML configuration: ``include:`` merging and ``--set a.b=c`` overrides.

Only ``config/`` and ``cli/`` know about YAML; the library itself takes Python kwargs.
"""

from __future__ import annotations

from hepgraph.config.load import (
    apply_overrides,
    deep_merge,
    load_config,
    load_yaml,
    parse_set,
    repo_configs_dir,
    safe_load,
)

__all__ = [
    "apply_overrides", "deep_merge", "load_config", "load_yaml", "parse_set", "repo_configs_dir",
    "safe_load",
]
