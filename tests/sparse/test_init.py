"""The sparse engine's tiers: nn -> functional -> backends, never an import back up."""

from __future__ import annotations

import ast
from pathlib import Path

import hepgraph.sparse as sp

ROOT = Path(sp.__file__).parent


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported by ``path`` outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _tier_imports(tier: str) -> dict[str, set[str]]:
    return {
        str(p.relative_to(ROOT)): {m for m in _runtime_imports(p) if m.startswith("hepgraph.")}
        for p in (ROOT / tier).rglob("*.py")
    }


def test_backends_never_import_upper_tiers():
    upper = ("hepgraph.sparse.functional", "hepgraph.sparse.nn", "hepgraph.sparse.tensor",
             "hepgraph.sparse.manager")
    found = _tier_imports("backends")
    assert "backends/torch/conv.py" in found and "backends/torch/kernel_map.py" in found
    bad = {f: sorted(m for m in ms if m.startswith(upper)) for f, ms in found.items()}
    assert not any(bad.values()), bad


def test_functional_never_imports_nn_and_core_types_only_the_torch_backend():
    bad = {f: sorted(m for m in ms if m.startswith("hepgraph.sparse.nn"))
           for f, ms in _tier_imports("functional").items()}
    assert not any(bad.values()), bad
    for core in ("tensor.py", "manager.py"):
        mods = {m for m in _runtime_imports(ROOT / core) if m.startswith("hepgraph.sparse")}
        assert all(m.startswith("hepgraph.sparse.backends.torch") or m == "hepgraph.sparse.manager"
                   for m in mods), (core, mods)
