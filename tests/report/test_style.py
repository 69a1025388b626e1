"""The shared style: context line, integer ticks, and the caller's rcParams left alone."""

from __future__ import annotations

import matplotlib

from hepgraph.report.style import describe, integer_epochs, pyplot, styled


def test_describe():
    assert describe("gravnet", "test", 1200) == "gravnet, test split, N = 1,200 events"
    assert describe(None, "val", 5000, "hits", 40) == "val split, N = 5,000 hits (40 events)"
    assert describe() == ""


def test_styled_does_not_leak_rcparams_and_integer_ticks():
    before = matplotlib.rcParams["font.size"]

    @styled
    def draw():
        fig, ax = pyplot().subplots()
        ax.plot([1, 2, 3], [0.1, 0.2, 0.3])
        integer_epochs(ax)
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        size = matplotlib.rcParams["font.size"]
        pyplot().close(fig)
        return ticks, size

    ticks, size = draw()
    assert size == 11 and all(float(t).is_integer() for t in ticks)
    assert matplotlib.rcParams["font.size"] == before
