"""Channel display: hits grouped per channel position, charge summed, first time kept."""

from __future__ import annotations

import numpy as np

from hepgraph.report.channels import channel_positions, channel_table, render_channels


def pmt_event(event_id=0):
    # 2 strings x 3 PMTs at fixed positions; hits repeat on PMTs
    pmts = np.array([[0, 0, z] for z in (0, 100, 200)] + [[500, 0, z] for z in (0, 100, 200)], float)
    which = np.array([0, 0, 0, 1, 4, 4])
    return {"event_id": event_id, "x": pmts[which, 0], "y": pmts[which, 1], "z": pmts[which, 2],
            "charge": np.array([1.0, 2.0, 3.0, 0.5, 1.0, 1.0]), "t": np.array([30.0, 10.0, 20.0, 5.0, 8.0, 7.0]),
            "dir_x": np.zeros(6), "dir_y": np.zeros(6), "dir_z": -np.ones(6)}, pmts


def test_channel_table_against_hand_counts():
    ev, _ = pmt_event()
    ch = channel_table(ev)
    assert len(ch["hits"]) == 3
    by_z = {(p[0], p[2]): i for i, p in enumerate(ch["pos"])}
    i0, i1, i4 = by_z[(0, 0)], by_z[(0, 100)], by_z[(500, 100)]
    assert ch["hits"][[i0, i1, i4]].tolist() == [3, 1, 2]
    assert ch["charge"][[i0, i1, i4]].tolist() == [6.0, 0.5, 2.0]
    assert ch["t_first"][[i0, i1, i4]].tolist() == [10.0, 5.0, 7.0]
    assert np.allclose(ch["dir"][:, 2], -1)


def test_render_channels_draws_each_channel_once_with_the_unlit_ones():
    ev, pmts = pmt_event()
    fig = render_channels(ev, {"columns": {"charge": {"unit": "p.e."}}}, all_channels=pmts)
    axes = [ax for ax in fig.axes if ax.name == "rectilinear" and ax.get_label() != "<colorbar>"]
    assert len(axes) == 3
    offsets = [c.get_offsets().shape[0] for c in axes[0].collections]
    assert offsets[:2] == [6, 3]  # 6 detector channels in grey, 3 lit ones
    assert "6 hits on 3 of 6 channels" in fig._suptitle.get_text()
    cbar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert cbar and "time" in cbar[0].get_ylabel()
    fig = render_channels({k: v for k, v in ev.items() if k != "t"}, {}, color="time")
    assert "charge" in fig._suptitle.get_text()  # no times: coloured by charge


def test_channel_positions_over_events():
    events = [pmt_event(i)[0] for i in range(3)]
    assert channel_positions(events).shape == (3, 3)
