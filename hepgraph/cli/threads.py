"""CPU thread count for commands that train: one thread on a busy machine.

With more runnable processes than cores, PyTorch's intra-op thread pool spends its time
waiting for descheduled threads at every barrier; on a loaded 2-core machine one thread was
measured 60x faster (small CNN training: 2.2 -> 135 events/s).
"""

from __future__ import annotations

import os


def choose_threads(requested: int) -> int:
    """Threads to use: ``requested`` when > 0; else 1 if the 1-minute load average is at least
    the number of cores, otherwise PyTorch's default (0 = leave unchanged)."""
    if requested > 0:
        return requested
    try:
        busy = os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:
        busy = False
    return 1 if busy else 0


def apply_threads(requested: int) -> int:
    """Set ``torch.set_num_threads`` per :func:`choose_threads`; returns the count in use."""
    import torch

    n = choose_threads(requested)
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()
