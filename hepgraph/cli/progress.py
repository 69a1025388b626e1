"""Rich progress display for training (implements the trainer's callback hooks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn


def live_progress(*columns: Any, console: Console | None = None, disable: bool = False, **kwargs: Any) -> Progress:
    """A transient rich progress bar on stderr, shown on a terminal only (in a log file or a pipe
    a live bar prints nothing useful, only a blank line when it stops before its first task)."""
    console = console or Console(stderr=True)
    return Progress(*columns, console=console, transient=True, disable=disable or not console.is_terminal,
                    **kwargs)


class RichTrainProgress:
    """Epoch/step bar with loss, events/s, ETA and learning rate; one summary line per epoch."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = live_progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("step {task.completed}/{task.total}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} ev/s"),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task_id: Any = None

    def __enter__(self) -> RichTrainProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Start a fresh bar for the epoch."""
        if self.task_id is not None:
            self.progress.remove_task(self.task_id)
        self.task_id = self.progress.add_task("train", total=steps, epoch=f"{epoch}/{epochs}",
                                              loss="-", rate="-", lr="-")

    def on_step(self, info: Mapping[str, Any]) -> None:
        """Advance the bar."""
        loss = info["loss"]  # NaN until the first read-back from the GPU
        self.progress.update(self.task_id, completed=info["step"],
                             loss=f"{loss:.4g}" if loss == loss else "-",
                             rate=f"{info['events_per_s']:.1f}", lr=f"{info['lr']:.3g}")

    def on_epoch_end(self, record: Mapping[str, Any]) -> None:
        """Print the epoch's summary line."""
        from hepgraph.train.trainer import summary_line

        self.console.print(f"epoch {record['epoch']}: {summary_line(record)}", highlight=False,
                           soft_wrap=True)


class CompareProgress:
    """Rich progress for the models of a comparison (wraps the training progress bar)."""

    def __init__(self, console: Any) -> None:
        self.console, self.inner = console, RichTrainProgress(console)

    def on_model(self, name: str, index: int, total: int) -> None:
        self.console.print(f"[bold]model {index + 1}/{total}: {name}[/bold]", highlight=False)

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.inner.on_epoch_start(epoch, epochs, steps)

    def on_step(self, info: Any) -> None:
        self.inner.on_step(info)

    def on_epoch_end(self, record: Any) -> None:
        self.inner.on_epoch_end(record)
