"""Event display: one PNG per simulator preset, colours, predictions, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import hepgraph.sources  # noqa: F401
from hepgraph.errors import ConfigError, DataError
from hepgraph.events import table_to_events, validate_table
from hepgraph.registry import SOURCES
from hepgraph.report.display import load_predictions, render_event

NAMES = SOURCES.names("sim-*")


def event_and_manifest(name, seed=1):
    src = SOURCES.get(name)(seed=seed, params={"block_size": 3})
    table = validate_table(next(src.read(src.plan(3)[0])))
    evs = [e for e in table_to_events(table) if len(e["x"]) > 0]
    info = src.info()
    manifest = {"source": {"name": name}, "label_names": info.label_names,
                "semantic_names": info.semantic_names, "extra": info.extra,
                "columns": {"charge": {"unit": "MeV"}}}
    return evs[0], manifest


@pytest.mark.parametrize("name", NAMES)
def test_renders_a_png_for_every_preset(name, tmp_path):
    ev, manifest = event_and_manifest(name)
    color = "semantic" if name == "sim-lartpc" else "truth"
    fig = render_event(ev, manifest, color=color)
    out = tmp_path / f"{name}.png"
    fig.savefig(out, dpi=40)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    # The hits are drawn: every projection holds one point per hit.
    axes2d = [ax for ax in fig.axes if ax.name == "rectilinear" and ax.collections]
    assert len(axes2d) == 3
    assert all(ax.collections[-1].get_offsets().shape[0] == len(ev["x"]) for ax in axes2d)


def test_charge_colours_and_predictions_row(tmp_path):
    ev, manifest = event_and_manifest("sim-drift-chamber")
    n = len(ev["x"])
    fig = render_event(ev, manifest, color="charge", predictions=np.zeros(n, dtype=np.int64))
    assert len([ax for ax in fig.axes if ax.name == "3d"]) == 2       # truth row + predicted row
    path = tmp_path / "pred.csv"
    hid = np.arange(n)
    path.write_text("event_id,hit_id,track_id\n" + "\n".join(
        f"{int(ev['event_id'])},{h},{h % 3}" for h in hid[::-1]))
    pred = load_predictions(path, int(ev["event_id"]), n)
    np.testing.assert_array_equal(pred, hid % 3)
    with pytest.raises(DataError, match="no rows for event_id"):
        load_predictions(path, 999, n)


def test_bad_colour_and_missing_semantic():
    ev, manifest = event_and_manifest("sim-drift-chamber")
    with pytest.raises(ConfigError, match="not one of"):
        render_event(ev, manifest, color="rainbow")
    with pytest.raises(DataError, match="no `semantic` column"):
        render_event(ev, manifest, color="semantic")


def test_perfect_prediction_with_other_ids_is_drawn_in_the_truth_colours():
    rng = np.random.default_rng(0)
    tid = np.repeat([5, 9, 2, -1], [30, 20, 10, 5])
    ev = {"event_id": 0, "x": rng.uniform(-100, 100, 65), "y": rng.uniform(-100, 100, 65),
          "z": rng.uniform(-100, 100, 65), "charge": np.ones(65), "track_id": tid,
          "particle_id": np.array([2, 5, 9]), "particle_pdg": np.array([2212, 13, -211])}
    pred = np.where(tid >= 0, 40 - tid, -1)  # cluster numbers unrelated to particle ids
    fig = render_event(ev, {}, color="truth", predictions=pred)
    truth_ax, pred_ax = [ax for ax in fig.axes if ax.get_title().endswith("x-y")]
    np.testing.assert_allclose(np.sort(truth_ax.collections[-1].get_facecolors(), axis=0),
                               np.sort(pred_ax.collections[-1].get_facecolors(), axis=0))
    legend_ax = [ax for ax in fig.axes if ax.get_title() == "predicted: z-y"][0]
    labels = [t.get_text() for t in legend_ax.get_legend().get_texts()]
    assert labels[:3] == ["-> 5 mu- (30 hits)", "-> 9 pi- (20 hits)", "-> 2 p (10 hits)"]


def test_choose_color_falls_back_without_truth():
    from hepgraph.report.display import choose_color

    assert choose_color({"x": [1.0]}, "truth")[0] == "charge"
    assert "no truth" in choose_color({"x": [1.0]}, "truth")[1]
    assert choose_color({"x": [1.0], "track_id": [3]}, "truth") == ("truth", None)
    with pytest.raises(ConfigError):
        choose_color({}, "rainbow")
