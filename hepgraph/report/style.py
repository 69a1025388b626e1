"""One look for every hepgraph figure: fonts, grid, colours, saving, and the context line.

Every plot function of hepgraph (``report``, ``compare``, ``examples``) draws through this
module, so the figures of a talk agree:

>>> from hepgraph.report.style import pyplot, save_figure, styled, describe
>>> @styled
... def my_plot(path):
...     fig, ax = pyplot().subplots()
...     ax.set(xlabel="p [GeV]", ylabel="events", title=describe("gravnet", "test", 1200))
...     return save_figure(fig, path)

:func:`styled` applies :data:`RC` while a figure is built and saved, without changing the
caller's matplotlib settings (a notebook keeps its own style).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: matplotlib settings of hepgraph figures (readable on a projector: 11 pt text, light grid).
RC: dict[str, Any] = {
    "font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.grid": True, "grid.alpha": 0.3,
    "grid.linewidth": 0.6, "axes.spines.top": False, "axes.spines.right": False,
    "lines.linewidth": 1.6, "legend.frameon": False, "figure.dpi": 100, "savefig.dpi": 110,
    "image.cmap": "Blues",
}

#: Colour cycle (matplotlib tab10, the colour-blind-safer default order).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")

#: Colour of unmatched / noise / "other" entries in every figure.
GREY = (0.7, 0.7, 0.7, 0.6)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def rc() -> dict[str, Any]:
    """:data:`RC` with the colour cycle, ready for ``matplotlib.rc_context``."""
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=list(COLORS))}


def styled(fn: F) -> F:
    """Decorator: run a plot function under :func:`rc` (figures built and saved inside)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        pyplot()
        with matplotlib.rc_context(rc()):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def save_figure(fig: Any, path: str | Path, dpi: int | None = None) -> Path:
    """Lay out, write (format from the suffix: png, pdf, svg) and close a figure.

    The image is written to a temporary sibling and renamed, so a crash never leaves half
    an image; callers decide beforehand whether an existing file may be replaced.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    from hepgraph.atomic import atomic_file

    path = Path(path)
    if not fig.get_constrained_layout():
        fig.tight_layout()
    with atomic_file(path, overwrite=True, what="figure") as tmp:
        fig.savefig(tmp, dpi=dpi)
    pyplot().close(fig)
    return path


def describe(model: str | None = None, split: str | None = None, n: int | None = None,
             unit: str = "events", events: int | None = None) -> str:
    """The context of a figure: ``"gravnet, test split, N = 1,200 hits (40 events)"``.

    Args:
        model: model name.
        split: dataset split (``train``, ``val``, ``test``, ``all``).
        n: number of entries behind the figure.
        unit: what ``n`` counts (``events``, ``hits``, ``edges``).
        events: number of events, when ``unit`` is not events.
    """
    parts = []
    if model:
        parts.append(str(model))
    if split:
        parts.append(f"{split} split")
    if n is not None:
        text = f"N = {int(n):,} {unit}"
        if events is not None and unit != "events":
            text += f" ({int(events):,} events)"
        parts.append(text)
    return ", ".join(parts)


def integer_epochs(ax: Any, axis: str = "x") -> None:
    """Ticks at whole numbers only (epochs, steps, counts) on ``axis`` of ``ax``."""
    from matplotlib.ticker import MaxNLocator

    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


def title_with(ax: Any, title: str, context: str) -> None:
    """Title on two lines: what is shown, then the context (:func:`describe`)."""
    ax.set_title(f"{title}\n{context}" if context else title)
