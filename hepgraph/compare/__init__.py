"""Side-by-side comparison of models on the same events: training, evaluation, costs, scans."""

from __future__ import annotations

from hepgraph.compare.report import write_comparison
from hepgraph.compare.runner import compare_models, time_to_target, train_and_evaluate

__all__ = ["compare_models", "train_and_evaluate", "time_to_target", "write_comparison"]
