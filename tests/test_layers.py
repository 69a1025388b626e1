"""Every import inside hepgraph follows the layer table of docs/architecture.md.

A module may import the package it belongs to and packages of lower layers; packages of
one layer do not import each other. Imports inside functions count the same. The only
exceptions are the ones docs/architecture.md lists under "Known exceptions".
"""

from __future__ import annotations

import ast
from pathlib import Path

import hepgraph

ROOT = Path(hepgraph.__file__).parent

#: docs/architecture.md, "What may import what" (top-level modules count as packages).
LAYERS = {
    "errors": 0, "constants": 0, "typing": 0, "plugins": 0,
    "registry": 1, "config": 1, "atomic": 1, "model_list": 1, "events": 1, "metrics": 1, "sparse": 1,
    "sources": 2, "represent": 2, "tasks": 2, "report": 2,
    "store": 3, "models": 3,
    "runs": 4,
    "train": 5, "cluster": 5,
    "compare": 6,
    "cli": 7, "__main__": 7, "api": 7, "__init__": 7,
}
#: The top layer (the CLI and the public API) may import everything.
TOP = 7
#: (importing file, imported package): docs/architecture.md, "Known exceptions".
KNOWN = {
    ("train/__init__.py", "api"), ("cluster/__init__.py", "api"),
    ("tasks/edges.py", "cluster"),
}
#: Names of the package root that any module may import (no code runs for them).
ROOT_METADATA = {"__version__"}
#: Data directories without Python code of their own.
NOT_CODE = {"configs"}


def is_package(name: str) -> bool:
    """True for a subpackage or top-level module of hepgraph."""
    return (ROOT / name / "__init__.py").exists() or (ROOT / f"{name}.py").exists()


def imported_packages(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, top-level hepgraph package)`` of every absolute import of hepgraph in ``tree``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hepgraph":  # a subpackage, or a name of the top-level API
                out += [(node.lineno, a.name if is_package(a.name) else "__init__") for a in node.names
                        if a.name not in ROOT_METADATA]
            elif node.module.startswith("hepgraph."):
                out.append((node.lineno, node.module.split(".")[1]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names if a.name.startswith("hepgraph.")]
    return out


def violations() -> list[str]:
    """Imports that break the layer table, as ``file:line: pkg (layer) -> pkg (layer)``."""
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        owner = rel.parts[0].removesuffix(".py")
        if owner in NOT_CODE:
            continue
        assert owner in LAYERS, f"{rel}: package `{owner}` is missing from the layer table"
        for line, target in imported_packages(ast.parse(path.read_text(), str(path))):
            if target == owner or (rel.as_posix(), target) in KNOWN:
                continue
            assert target in LAYERS, f"{rel}:{line}: imports `hepgraph.{target}`, not in the layer table"
            if LAYERS[target] >= LAYERS[owner] and LAYERS[owner] < TOP:
                bad.append(f"{rel}:{line}: {owner} ({LAYERS[owner]}) -> {target} ({LAYERS[target]})")
    return bad


def test_imports_follow_the_layer_table():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path):
    tree = ast.parse("def f():\n    from hepgraph.cluster.graph import connected_tracks\n")
    assert imported_packages(tree) == [(2, "cluster")]
    assert imported_packages(ast.parse("from hepgraph import api, errors\n")) == [(1, "api"), (1, "errors")]


def test_every_package_has_a_layer():
    packages = {p.name.removesuffix(".py") for p in ROOT.iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert packages - NOT_CODE <= set(LAYERS)
