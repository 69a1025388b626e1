from __future__ import annotations

import numpy as np


def test_event_display_draws_one_circle_per_drift_cell_on_the_xy_view():
    from matplotlib.collections import EllipseCollection

    from hepgraph.report.display import render_event

    n = 12
    ev = {"x": np.repeat([52.0, 96.0, 140.0], 4), "y": np.tile([0.0, 44.0, 88.0, 132.0], 3),
          "z": np.zeros(n), "drift_radius": np.linspace(1.0, 20.0, n), "track_id": np.r_[[0] * 6, [1] * 6],
          "event_id": 0}
    fig = render_event(ev, {"extra": {}}, color="truth")
    xy = [ax for ax in fig.axes if ax.get_title().endswith("x-y")][0]
    circles = [c for c in xy.collections if isinstance(c, EllipseCollection)]
    assert len(circles) == 1 and len(circles[0].get_offsets()) == n
    # matplotlib keeps half the given diameters: the radii (mm), in the hits' drawing order
    np.testing.assert_allclose(np.sort(circles[0]._widths), np.sort(ev["drift_radius"]))
    others = [ax for ax in fig.axes if ax.get_title().endswith(("z-x", "z-y"))]
    assert not any(isinstance(c, EllipseCollection) for ax in others for c in ax.collections)
