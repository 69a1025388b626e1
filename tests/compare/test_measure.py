from __future__ import annotations

import numpy as np
from torch import nn

from hepgraph.compare.measure import PeakMemory, Timer, count_parameters, rss_mib


def test_count_parameters_trainable_only():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert count_parameters(m) == 3 * 4 + 4 + 4 * 2 + 2
    m[0].weight.requires_grad_(False)
    assert count_parameters(m) == 4 + 4 * 2 + 2


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory("cpu") as mem:
        a = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        a += 1
        del a
    assert rss_mib() > 0
    if mem.resettable:
        assert 48 <= mem.peak_mib < 1024
    else:  # lifetime peak minus current: still an upper bound that includes the allocation
        assert mem.peak_mib >= 0


def test_timer_measures_elapsed():
    import time

    with Timer() as t:
        time.sleep(0.05)
    assert 0.04 <= t.seconds < 1.0
