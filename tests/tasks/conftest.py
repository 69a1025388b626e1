from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))


@pytest.fixture
def toy_batch():
    from hg_train_toy import toy_event

    from hepgraph.events import collate_events

    return collate_events([toy_event(i) for i in range(4)], features=["charge"])


@pytest.fixture
def toy_manifest():
    cols = ["event_id", "x", "y", "z", "charge", "hit_id", "track_id", "semantic", "label",
            "n_tracks", "px", "py", "pz"]
    return {"columns": {c: {} for c in cols}, "label_names": ["low", "high"],
            "semantic_names": ["right", "left", "noise"], "default_task": "classification"}
