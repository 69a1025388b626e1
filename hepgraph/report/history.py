"""Training history of a run: losses and the headline metric vs epoch (``RUN/history.png``).

>>> history_plot("runs/gnn")          # doctest: +SKIP
PosixPath('runs/gnn/history.png')
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hepgraph.errors import DataError
from hepgraph.report.style import describe, integer_epochs, pyplot, save_figure, styled, title_with


def read_records(run_dir: str | Path) -> list[dict]:
    """The epoch records of ``RUN/metrics.jsonl``.

    Raises:
        DataError: the file is missing.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise DataError(f"`{run_dir}` has no metrics.jsonl; give the output directory of a training run")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@styled
def history_plot(run_dir: str | Path, path: str | Path | None = None, metric: str | None = None) -> Path:
    """Training and validation loss (left) and a validation metric (right) per epoch.

    Args:
        run_dir: the run directory.
        path: image to write (default ``RUN/history.png``).
        metric: validation metric to show (default: the run's headline metric from
            ``best.json``, else the first ``val_`` metric).

    Returns:
        The image path.
    """
    run_dir = Path(run_dir)
    recs = read_records(run_dir)
    best_file = run_dir / "best.json"
    best = json.loads(best_file.read_text()) if best_file.is_file() else {}
    keys = [k for r in recs for k in r if k.startswith("val_") and k != "val_loss"]
    metric = metric or (best.get("metric") if str(best.get("metric", "")).startswith("val_") else None) \
        or (keys[0] if keys else None)
    model = ""
    cfg = run_dir / "config.yaml"
    if cfg.is_file():
        import yaml

        model = str((yaml.safe_load(cfg.read_text()) or {}).get("model", {}).get("name", ""))
    events = int(recs[-1].get("train_events", 0)) if recs else 0
    ctx = describe(model or None, "train/val", events or None)
    fig, axes = pyplot().subplots(1, 2 if metric else 1, figsize=(11 if metric else 5.5, 4.3), squeeze=False)
    ep = [r["epoch"] for r in recs]
    ax = axes[0][0]
    ax.plot(ep, [r.get("train_loss", math.nan) for r in recs], "o-", label="training")
    if any("val_loss" in r for r in recs):
        ax.plot(ep, [r.get("val_loss", math.nan) for r in recs], "s-", label="validation")
    ax.set(xlabel="epoch", ylabel="loss")
    title_with(ax, "loss per epoch", ctx)
    ax.legend()
    integer_epochs(ax)
    if metric:
        ax = axes[0][1]
        ax.plot(ep, [r.get(metric, math.nan) for r in recs], "o-", color="C2")
        if best.get("epoch") is not None and best.get("metric") == metric:
            ax.plot([best["epoch"]], [best["value"]], "*", ms=14, color="C3", label=f"best (epoch {best['epoch']})")
            ax.legend()
        ax.set(xlabel="epoch", ylabel=metric.removeprefix("val_") + " (validation)")
        title_with(ax, f"{metric} per epoch", ctx)
        integer_epochs(ax)
    return save_figure(fig, path or run_dir / "history.png")
