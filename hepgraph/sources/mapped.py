"""The base of the file sources driven by a YAML mapping (``root``, ``hdf5``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from hepgraph.config.load import deep_merge, load_yaml
from hepgraph.errors import ConfigError, setting
from hepgraph.sources._common import expand_inputs
from hepgraph.sources.base import Source, SourceInfo
from hepgraph.sources.mapping import Mapping, parse_mapping


class MappedSource(Source):
    """Files read through a mapping (``docs/mapping.md``); subclasses implement plan/read.

    Args:
        inputs: files, directories (matched against ``patterns``) or globs.
        mapping: the YAML mapping file (required).
        seed: unused (reading is deterministic); recorded.
        params: overrides of mapping keys (nested dict from ``--set``).

    Attributes:
        patterns: file name patterns of a directory input.
        example: a shipped mapping named in the error for a missing ``--mapping``.
    """

    patterns: ClassVar[tuple[str, ...]] = ("*",)
    example: ClassVar[str] = ""

    def __init__(self, inputs: Sequence[str | Path] | None = None, mapping: str | Path | None = None,
                 seed: int = 0, params: dict[str, Any] | None = None) -> None:
        if mapping is None:
            raise ConfigError(f"source `{self.name}` needs {setting('mapping', 'YAML')} (reference: docs/mapping.md; "
                              f"shipped example: {self.example})")
        data = deep_merge(load_yaml(mapping), params or {})
        self.mapping_path = str(mapping)
        self.mapping: Mapping = parse_mapping(data, mapping, self.name)
        self.files = [str(p) for p in expand_inputs(inputs, source=self.name, patterns=self.patterns)]
        self.seed = seed

    def config(self) -> dict[str, Any]:
        """Files, mapping path and the full mapping (after overrides)."""
        return {"inputs": self.files, "mapping_path": self.mapping_path, "mapping": self.mapping.raw}

    def info(self) -> SourceInfo:
        """Class names, task, units, features and extra from the mapping."""
        m = self.mapping
        return SourceInfo(label_names=m.label_names, semantic_names=m.semantic_names,
                          default_task=m.default_task, units=m.units,
                          default_features=m.default_features, extra=m.extra)

    @property
    def offset_ids(self) -> bool:
        """Whether event ids get ``file_index << 32`` added (several files, or asked for)."""
        off = self.mapping.file_id_offset
        return len(self.files) > 1 if off is None else bool(off)
