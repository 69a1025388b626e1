from __future__ import annotations

import pytest

import hepgraph.sparse as sp
from hepgraph.errors import UnknownNameError
from hepgraph.typing import WITH_MINKOWSKI


def test_set_backend_validates():
    assert sp.current_backend() == "torch"
    with pytest.raises(UnknownNameError, match="spconv"):
        sp.set_backend("spconv")
    sp.set_backend("torch")
    assert sp.get_backend().__name__.endswith("torch")


@pytest.mark.skipif(WITH_MINKOWSKI, reason="MinkowskiEngine installed")
def test_minkowski_missing_raises():
    from hepgraph.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match="MinkowskiEngine"):
        sp.set_backend("minkowski")
    assert sp.current_backend() == "torch"
