from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tpc_events():
    """40 sim-pad-tpc events (one track each), every hit column and particle."""
    from hepgraph.events import table_to_events, validate_table
    from hepgraph.sources.simulate.pad_tpc import PadTPC

    src = PadTPC(seed=0, params={"pad_cols": 40})
    return table_to_events(validate_table(src.simulate(np.random.default_rng(0), 40, 0)))


@pytest.fixture
def tpc_batch(tpc_events):
    from hepgraph.events import collate_events

    return collate_events(tpc_events[:8], features=["charge"])
