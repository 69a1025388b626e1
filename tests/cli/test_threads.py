from __future__ import annotations

import os

from hepgraph.cli import threads


def test_explicit_request_wins(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (99.0, 0.0, 0.0))
    assert threads.choose_threads(3) == 3


def test_busy_machine_gets_one_thread(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 0.0, 0.0))
    assert threads.choose_threads(0) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert threads.choose_threads(0) == 0  # idle: leave PyTorch's default
