"""views.explore: the sweep figure, basin maps and the race table, checked without a browser."""

import base64
import json

import numpy as np
import plotly.io as pio
import pytest

import surfaces
from engine.sweep import OptimizerSpec, basins, lr_sweep, race, stability_limit
from figures.explore import (DIVERGED_COLOR, LIMIT_LABEL, MINIMUM_COLORS, NOT_CONVERGED_COLOR,
                           basin_categories, basin_figure, race_table,
                           sweep_figure)
from figures.descent import RUN_COLORS

LRS = np.logspace(-4, 1, 31)


@pytest.fixture(scope="module")
def bowl_sweeps():
    bowl = surfaces.get("bowl")
    return bowl, {
        "GD": lr_sweep(bowl, "sgd", {}, LRS, None, 300),
        "Momentum": lr_sweep(bowl, "sgd", {"momentum": 0.9}, LRS, None, 300),
        "Adam": lr_sweep(bowl, "adam", {}, LRS, None, 300),
    }


def _decode(arr):
    if isinstance(arr, dict):
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
    return np.asarray(arr, dtype=float)


def _by_role(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def test_sweep_figure_has_one_colour_per_optimizer_and_diverged_marks(bowl_sweeps):
    bowl, results = bowl_sweeps
    fig = sweep_figure(LRS, results, limit=stability_limit(bowl))
    finals = _by_role(fig, "sweep")
    assert [t.meta["optimizer"] for t in finals] == ["GD", "Momentum", "Adam"]
    assert [t.line.color for t in finals] == list(RUN_COLORS[:3]) and finals[0].line.color == "#0072B2"
    assert len(_by_role(fig, "sweep-epochs")) == 3 and len(fig.data) == 9
    gd_div = _by_role(fig, "sweep-diverged")[0]
    diverged = results["GD"].status == "diverged"
    np.testing.assert_allclose(gd_div.customdata, LRS[diverged])
    assert gd_div.marker.symbol == "x-thin"
    # The ✕ band sits above every finite loss on the (log) axis.
    finite = finals[0].y[np.isfinite(finals[0].y)]
    assert np.all(np.log10(gd_div.y) > np.log10(finite.max()))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis2.type == "log" and fig.layout.xaxis2.title.text == "learning rate η"


def test_sweep_figure_points_carry_their_learning_rate_and_arrays_are_float32(bowl_sweeps):
    _, results = bowl_sweeps
    fig = sweep_figure(LRS, results)
    spec = json.loads(pio.to_json(fig))
    for trace in spec["data"]:
        if trace["x"]:  # an empty trace (no diverged rate) is an empty list
            assert trace["x"]["dtype"] == "f4" and trace["y"]["dtype"] == "f4"
    gd = _by_role(fig, "sweep")[0]
    np.testing.assert_array_equal(gd.customdata, LRS)  # exact, for loading into the main view
    epochs = _by_role(fig, "sweep-epochs")[0]
    reached = results["GD"].epochs_to_tol
    np.testing.assert_array_equal(np.isnan(epochs.y), reached < 0)
    np.testing.assert_allclose(epochs.y[reached >= 0], reached[reached >= 0])


def test_the_stability_limit_line_is_at_two_over_lambda_max(bowl_sweeps):
    bowl, results = bowl_sweeps
    fig = sweep_figure(LRS, results, limit=stability_limit(bowl))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 2  # one per panel
    assert all(s.x0 == s.x1 == pytest.approx(0.08) for s in lines)
    assert [s.label.text for s in lines if s.label.text] == [LIMIT_LABEL]  # on the lower panel
    assert LIMIT_LABEL == "2/λ_max (plain GD)"
    # Plain GD diverges at every rate right of the line and at none left of it.
    gd = results["GD"]
    assert np.all(gd.status[LRS > 0.0805] == "diverged")
    assert not np.any(gd.status[LRS < 0.0795] == "diverged")
    assert not any(s.type == "line" for s in sweep_figure(LRS, results).layout.shapes)


def test_sweep_figure_shades_rates_where_every_optimizer_diverges(bowl_sweeps):
    _, results = bowl_sweeps
    results = {k: results[k] for k in ("GD", "Momentum")}  # Adam never diverges on the bowl
    fig = sweep_figure(LRS, results)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    all_div = np.all([r.status == "diverged" for r in results.values()], axis=0)
    assert all_div.any() and rects
    first = LRS[all_div][0]
    assert min(s.x0 for s in rects) < first < min(s.x1 for s in rects)
    assert all(s.x1 >= first for s in rects)


def test_sweep_figure_on_a_surface_without_minimum_uses_the_raw_loss():
    saddle = surfaces.get("saddle")
    fig = sweep_figure(LRS, [("GD", lr_sweep(saddle, "sgd", {}, LRS, None, 50))])
    assert fig.layout.yaxis.title.text == "final loss" and fig.layout.yaxis.type == "linear"


@pytest.fixture(scope="module")
def himmelblau_basins():
    h = surfaces.get("himmelblau")
    return h, basins(h, "sgd", {}, 0.01, grid_n=40, epochs=200)


def test_basin_figure_colours_each_minimum_and_greys_the_rest(himmelblau_basins):
    h, result = himmelblau_basins
    fig = basin_figure(h, result, "GD, η = 0.01")
    heat = _by_role(fig, "basins")[0]
    cats = basin_categories(4)
    assert [c for _, c in cats] == list(MINIMUM_COLORS[:4]) + [NOT_CONVERGED_COLOR, "#9e9e9e",
                                                               DIVERGED_COLOR]
    assert list(heat.colorbar.ticktext) == ["minimum 1", "minimum 2", "minimum 3", "minimum 4",
                                           "not converged", "stopped elsewhere", "diverged"]
    # A discrete scale: category i is one flat colour band.
    scale = [tuple(step) for step in heat.colorscale]
    assert scale[0] == (0.0, MINIMUM_COLORS[0]) and scale[-1] == (1.0, DIVERGED_COLOR)
    assert heat.zmin == -0.5 and heat.zmax == 6.5
    np.testing.assert_array_equal(heat.z, result.label)  # labels 0..3 are categories 0..3
    stars = _by_role(fig, "minima")[0]
    np.testing.assert_allclose(stars.x, h.minima[:, 0], rtol=1e-6)
    assert list(stars.text) == ["1", "2", "3", "4"]
    assert fig.layout.title.text == "GD, η = 0.01"


def test_basin_hover_shows_start_end_and_epochs(himmelblau_basins):
    h, result = himmelblau_basins
    fig = basin_figure(h, result, "")
    heat = _by_role(fig, "basins")[0]
    for part in ("start (%{x", "end (%{customdata[0]", "%{text}", "epochs: %{customdata[2]"):
        assert part in heat.hovertemplate
    k, j = 5, 30
    np.testing.assert_allclose(heat.customdata[k, j, :2], result.end[k, j], rtol=1e-6)
    assert heat.customdata[k, j, 2] == result.epochs_taken[k, j]
    assert heat.text[k, j] == f"minimum {result.label[k, j] + 1}"
    spec = json.loads(pio.to_json(fig))["data"][0]
    assert spec["z"]["dtype"] == "f4" and spec["customdata"]["dtype"] == "f4"
    assert spec["x"]["dtype"] == "f4"


def test_basin_figure_maps_special_labels_to_greys():
    h = surfaces.get("himmelblau")
    wild = basins(h, "sgd", {}, 0.1, grid_n=12, epochs=30)
    heat = _by_role(basin_figure(h, wild), "basins")[0]
    assert np.all(heat.z[wild.label == -2] == 6) and np.all(heat.text[wild.label == -2] == "diverged")
    saddle = surfaces.get("saddle")  # no known minimum: three categories only
    fig = basin_figure(saddle, basins(saddle, "sgd", {}, 0.1, grid_n=10, epochs=20))
    assert list(_by_role(fig, "basins")[0].colorbar.ticktext) == [
        "not converged", "stopped elsewhere", "diverged"]
    assert not _by_role(fig, "minima")


def test_race_table_and_rule():
    s = surfaces.get("booth")
    result = race(s, [OptimizerSpec("GD", "sgd", {}), OptimizerSpec("Adam", "adam", {})],
                  epochs=200, lrs=np.logspace(-3, 0, 13))
    rows = race_table(result)
    assert [r["optimizer"] for r in rows] == ["GD", "Adam"]
    assert set(rows[0]) == {"optimizer", "tuned learning rate", "final loss", "epochs to 1e-06",
                            "status"}
    for row, entry in zip(rows, result.entries):
        assert row["tuned learning rate"] == entry.lr and row["final loss"] == entry.final_loss
        assert row["epochs to 1e-06"] == entry.epochs_to_tol
    text = result.rule
    assert "13 log-spaced rates" in text and "200 full-batch epochs" in text


def test_the_sweep_trains_each_run_as_the_views_do():
    """In the clipping lesson the views show the clipped run surviving η = 0.003 and the
    unclipped one diverging: the page's sweep, given each run's settings, says the same, and each
    of its final losses is the one-by-one run's (clipping, a schedule and mini-batches too)."""
    from dataclasses import replace

    from engine import sweep
    from lab.config import PRESETS, to_torch_hyper
    from lab.lessons import LESSONS
    from lab.runs import run_one, sweep_settings

    lesson = LESSONS["clipping"].config
    configs = [lesson, replace(LESSONS["schedule"].config, epochs=40)]
    for config in configs:
        for choice in config.runs:
            lrs = np.array([config.learning_rate, config.learning_rate / 2])
            result = sweep.lr_sweep(config.surface_obj(), PRESETS[choice.preset].optimizer,
                                    to_torch_hyper(choice.hyper()), lrs, start=config.start_point(),
                                    epochs=config.epochs, **sweep_settings(config, choice))
            for lr, final, status in zip(lrs, result.final_loss, result.status):
                one = run_one(config, replace(choice, changes=(("lr", float(lr)),))).trajectory
                assert (status == "diverged") == (one.diverged_epoch is not None)
                if one.diverged_epoch is None:
                    assert final == pytest.approx(one.loss[-1], rel=1e-9)
    clipped, unclipped = lesson.runs
    statuses = []
    for choice in (clipped, unclipped):
        r = sweep.lr_sweep(lesson.surface_obj(), "sgd", {}, np.array([0.003]), start=lesson.start_point(),
                           epochs=lesson.epochs, **sweep_settings(lesson, choice))
        statuses.append(r.status[0])
    assert statuses[0] != "diverged" and statuses[1] == "diverged"


def test_the_sweep_marks_the_learning_rate_each_run_uses_now(bowl_sweeps):
    _, results = bowl_sweeps
    labels = list(results)
    now = {labels[0]: 0.02, labels[1]: 0.05}
    fig = sweep_figure(LRS, results, current=now, presenter=True)
    rings = _by_role(fig, "sweep-now")
    assert [t.meta["optimizer"] for t in rings] == labels[:2]
    assert [float(t.x[0]) for t in rings] == pytest.approx([0.02, 0.05])
    assert [t.marker.color for t in rings] == list(RUN_COLORS[:2])
    lines = [s for s in fig.layout.shapes if s.line.dash == "dot"]
    assert sorted(s.x0 for s in lines) == pytest.approx([0.02, 0.05])
    assert {s.label.text for s in lines} == {"now: η = 0.02", "now: η = 0.05"}
    # presenter: dark tick labels a room can read
    assert fig.layout.xaxis.tickfont.size >= 18 and fig.layout.yaxis.tickfont.color == "#111827"
