"""Learning-rate range test (``hepgraph train --find-lr``).

The model of the run config is trained for ``steps`` batches while the learning rate
grows geometrically from ``start`` to ``end`` (Smith, "Cyclical Learning Rates for Training
Neural Networks", arXiv:1506.01186). The training loss, smoothed by an exponential moving
average with bias correction, is recorded per step; the test stops early once it exceeds
``diverge`` times its minimum. The suggested learning rate is where the smoothed loss falls
fastest against log(lr), before its minimum; ``min_loss_lr / 10`` is given too.

Writes ``OUT/lr_find.csv`` (lr, loss, smoothed loss) and ``OUT/lr_find.png``; nothing is
trained for real (the run directory of a later ``train`` is not touched).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from hepgraph.errors import ConfigError, DataError
from hepgraph.runs.config import RunConfig


def lr_schedule(start: float, end: float, steps: int) -> np.ndarray:
    """``steps`` learning rates from ``start`` to ``end``, evenly spaced in log(lr)."""
    if not 0 < start < end or steps < 2:
        raise ConfigError(f"the LR range test needs 0 < start < end and >= 2 steps "
                          f"(got start `{start}`, end `{end}`, steps `{steps}`)")
    return start * (end / start) ** (np.arange(steps) / (steps - 1))


def suggest(lrs: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """Suggested learning rates from a range test.

    Args:
        lrs: (S,) learning rates, increasing.
        smoothed: (S,) smoothed training loss at each.

    Returns:
        ``steepest_lr`` (most negative d loss / d log lr before the minimum) and
        ``min_loss_lr`` (the lr of the smallest smoothed loss); NaN when undefined.
    """
    lrs, smoothed = np.asarray(lrs, float), np.asarray(smoothed, float)
    ok = np.isfinite(smoothed)
    lrs, smoothed = lrs[ok], smoothed[ok]
    if lrs.size < 3:
        return {"steepest_lr": math.nan, "min_loss_lr": math.nan}
    imin = int(np.argmin(smoothed))
    grad = np.gradient(smoothed, np.log(lrs))
    upto = max(imin, 2)
    steep = int(np.argmin(grad[:upto]))
    return {"steepest_lr": float(lrs[steep]), "min_loss_lr": float(lrs[imin])}


def find_lr(cfg: RunConfig, out: str | Path, *, start: float = 1e-7, end: float = 1.0,
            steps: int = 100, beta: float = 0.9, diverge: float = 4.0, overwrite: bool = False,
            progress: Any = None) -> dict[str, Any]:
    """Run the LR range test for ``cfg`` and write its CSV and plot into ``out``.

    Args:
        cfg: the validated run config (data, model, task, optimizer, batch size, device).
        out: output directory (written atomically; an existing one needs ``overwrite``).
        start: first learning rate.
        end: last learning rate.
        steps: batches (the loader is cycled when an epoch is shorter).
        beta: smoothing of the loss (exponential moving average weight).
        diverge: stop when the smoothed loss exceeds this many times its minimum.
        overwrite: replace an existing ``out``.
        progress: called with ``(step, steps, lr, loss)`` after every step.

    Returns:
        ``{"steepest_lr", "min_loss_lr", "suggested_lr", "steps", "csv", "plot"}``.

    Raises:
        ConfigError: bad range. DataError: the loss is not finite from the first step.
    """
    from hepgraph.atomic import atomic_dir, refuse_existing
    from hepgraph.runs.layout import pick_device
    from hepgraph.train.distributed import DistInfo
    from hepgraph.train.run import _loaders, _optimizer, _prepare

    lrs = lr_schedule(start, end, steps)
    refuse_existing(out, overwrite, "LR range test directory")
    device = pick_device(cfg.train.device)
    s = _prepare(cfg, False, device)
    loader, _, _ = _loaders(s, DistInfo(), device)
    opt = _optimizer(s.cfg, s.model)
    s.model.train()
    task = s.task.to(device)
    losses, smoothed, avg, best = [], [], 0.0, math.inf
    batches = iter(loader)
    for i, lr in enumerate(lrs):
        try:
            batch = next(batches)
        except StopIteration:
            loader.sampler.set_epoch(i)
            batches = iter(loader)
            batch = next(batches)
        for g in opt.param_groups:
            g["lr"] = float(lr)
        batch = batch.to(device)
        loss = task(s.model(batch), batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())
        losses.append(value)
        avg = beta * avg + (1 - beta) * value
        sm = avg / (1 - beta ** (i + 1))
        smoothed.append(sm)
        if progress is not None:
            progress(i + 1, steps, float(lr), value)
        if not math.isfinite(sm) or (i > 5 and sm > diverge * best):
            break
        best = min(best, sm)
    if not losses or not math.isfinite(losses[0]):
        raise DataError(f"the training loss is {losses[0] if losses else 'missing'} at lr {start:g}; "
                        "check the input features and the task")
    n = len(losses)
    sug = suggest(lrs[:n], np.asarray(smoothed))
    sug["suggested_lr"] = sug["steepest_lr"]
    with atomic_dir(out, overwrite=overwrite, what="LR range test directory") as tmp:
        lines = ["lr,loss,smoothed_loss"] + [f"{lr:.6g},{lo:.6g},{sm:.6g}" for lr, lo, sm in
                                             zip(lrs[:n], losses, smoothed)]
        (tmp / "lr_find.csv").write_text("\n".join(lines) + "\n")
        _plot(lrs[:n], np.asarray(losses), np.asarray(smoothed), sug, str(s.cfg.model.name),
              tmp / "lr_find.png")
    out = Path(out)
    return {**sug, "steps": n, "csv": str(out / "lr_find.csv"), "plot": str(out / "lr_find.png")}


def _plot(lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, sug: dict[str, float],
          model: str, path: Path) -> Path:
    from hepgraph.report.style import pyplot, save_figure, styled

    @styled
    def draw() -> Path:
        fig, ax = pyplot().subplots(figsize=(6.5, 4.5))
        ax.plot(lrs, losses, color="0.75", lw=1, label="loss per batch")
        ax.plot(lrs, smoothed, label="smoothed loss")
        for key, style, text in (("steepest_lr", "--", "steepest descent"), ("min_loss_lr", ":", "minimum")):
            if math.isfinite(sug[key]):
                ax.axvline(sug[key], ls=style, color="C3" if key == "steepest_lr" else "k",
                           label=f"{text}: {sug[key]:.2g}")
        finite = smoothed[np.isfinite(smoothed)]
        if finite.size:
            lo, hi = float(finite.min()), float(np.percentile(finite, 95))
            ax.set_ylim(lo - 0.05 * (hi - lo + 1e-12), hi + 0.1 * (hi - lo + 1e-12))
        ax.set(xscale="log", xlabel="learning rate", ylabel="training loss",
               title=f"LR range test: {model}, {len(lrs)} batches")
        ax.legend()
        return save_figure(fig, path)

    return draw()
