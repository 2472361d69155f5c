"""Figure builders: pure data in, Plotly figures out, checked without a browser."""

import base64
import json

import numpy as np
import plotly.io as pio
import pytest

import surfaces
from engine import collect, optimizers, train
from figures.descent import RUN_COLORS, Grid, RunView, contour_map, loss_curve, surface_3d, view_loss_axis


def _grid(name, n=40):
    xs, ys, Z = surfaces.get(name).grid(n)
    return Grid(xs, ys, Z)


def _run(name, opt, lr, epochs=50, start=None, color=RUN_COLORS[0], label="run"):
    s = surfaces.get(name)
    t = collect(train(s, optimizers.create(opt, lr=lr), epochs=epochs, start=start))
    return RunView(label, color, t.params, t.loss, t.status, t.diverged_epoch)


def _decode(arr):
    """A Plotly JSON array: a plain list, or a base64 typed array {"dtype", "bdata"}."""
    if isinstance(arr, dict):
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
    return np.asarray(arr, dtype=float)


def _roles(fig):
    return [(t.meta or {}).get("role") for t in fig.data]


def test_single_run_is_blue_dots_one_per_epoch_above_the_surface():
    grid = _grid("rosenbrock")
    run = _run("rosenbrock", "adam", 0.1, epochs=60)
    fig = surface_3d(grid, [run], surfaces.get("rosenbrock").minima, log=True, uirevision="u")
    paths = [t for t in fig.data if (t.meta or {}).get("role") == "path"]
    assert len(paths) == 1
    path = paths[0]
    assert path.marker.color == "#0072B2"  # blue
    assert "markers" in path.mode and "lines" in path.mode
    assert len(path.x) == len(run.loss) == 61
    surface = fig.data[0]
    # Each dot sits on or just above the surface height at its own point.
    s = surfaces.get("rosenbrock")
    floor = float(np.min(grid.Z))
    expected = np.log10(1 + s.loss(run.params) - floor)
    assert np.all(np.asarray(path.z) >= expected.astype(np.float32) - 1e-4)
    assert np.all(np.asarray(path.z) <= np.float32(np.max(surface.z)) * 1.05 + 1e-3)


def test_wire_arrays_are_float32_typed_arrays():
    fig = surface_3d(_grid("himmelblau"), [_run("himmelblau", "adam", 0.05)],
                     surfaces.get("himmelblau").minima, log=False, uirevision="u")
    spec = json.loads(pio.to_json(fig, validate=False))
    z = spec["data"][0]["z"]
    assert isinstance(z, dict) and z["dtype"] == "f4"
    assert _decode(z).size == 40 * 40


def test_several_runs_get_their_own_colour_and_legend_entry():
    names = [("sgd", 0.001), ("adam", 0.05), ("rmsprop", 0.01)]
    runs = [_run("rosenbrock", o, lr, color=RUN_COLORS[i], label=o) for i, (o, lr) in enumerate(names)]
    fig = surface_3d(_grid("rosenbrock"), runs, np.zeros((0, 2)), log=True, uirevision="u")
    paths = [t for t in fig.data if (t.meta or {}).get("role") == "path"]
    assert [p.name for p in paths] == ["sgd", "adam", "rmsprop"]
    assert len({p.marker.color for p in paths}) == 3
    assert all(p.showlegend for p in paths)
    assert _roles(fig).count("head") == 3


def test_diverged_points_do_not_stretch_the_height_range():
    grid = _grid("rosenbrock")
    good = _run("rosenbrock", "adam", 0.05, label="good")
    bad = _run("rosenbrock", "sgd", 10.0, label="bad", color=RUN_COLORS[1])
    assert bad.status == "diverged"
    fig = surface_3d(grid, [good, bad], np.zeros((0, 2)), log=False, uirevision="u")
    zmax = float(np.max(grid.Z))
    assert fig.layout.scene.zaxis.range[1] < zmax * 1.1
    bad_path = [t for t in fig.data if t.name == "bad" and (t.meta or {}).get("role") == "path"][0]
    z = np.asarray(bad_path.z, dtype=float)
    assert np.all(np.isnan(z) | (z <= zmax * 1.05))
    assert np.isnan(z[-1])  # the escaped point is blanked, not drawn at infinity


@pytest.mark.parametrize("name", surfaces.names())
def test_the_3d_views_ticks_keep_off_the_box_corners(name):
    """The height's title stands at a corner of the box: the bowl's w1 = −5 tick, at that corner,
    ran into "loss" (lr-too-large in presenter mode). Every w1 and w2 tick is inside the box by
    at least 4% of its side, and there are three or more of them."""
    fig = surface_3d(_grid(name), [], np.zeros((0, 2)), log=False, uirevision="u")
    for axis in (fig.layout.scene.xaxis, fig.layout.scene.yaxis):
        lo, hi = axis.range
        ticks = np.asarray(axis.tickvals, dtype=float)
        assert len(ticks) >= 3
        assert np.all(ticks >= lo + 0.039 * (hi - lo)) and np.all(ticks <= hi - 0.039 * (hi - lo))


@pytest.mark.parametrize("height, stretch", [(30.0, 4.0), (13.0, 2.0), (6.0, None), (40.0, None)])
def test_a_tall_map_box_is_stretched_across_by_a_round_factor_and_says_so(height, stretch):
    """An uploaded line's box, w −2..6 against b −15..15, drawn at equal scale was a strip a
    quarter of the panel wide (no map panel is taller than wide). Between 1.5 and 4 times taller
    than wide, w is drawn stretched by a round factor to a box no taller than wide, and the map
    says "w drawn ×4"; up to 1.5 it stays at equal scale; beyond 4, "axes not to scale"."""
    xs, ys = np.linspace(-2.0, 6.0, 30), np.linspace(-height / 2, height / 2, 30)
    grid = Grid(xs, ys, xs[None, :] ** 2 + ys[:, None] ** 2)
    fig = contour_map(grid, [], np.zeros((0, 2)), (0.0, 0.0), log=False, uirevision="u",
                      axis_names=("w", "b"))
    notes = [a.text for a in fig.layout.annotations]
    if stretch is None and height <= 8 * 1.5:
        assert fig.layout.yaxis.scaleratio == 1 and notes == []
    elif stretch is None:
        assert fig.layout.yaxis.scaleanchor is None and notes == ["axes not to scale"]
    else:
        assert fig.layout.yaxis.scaleratio == pytest.approx(1 / stretch)
        assert 2 / 3 <= 8 * stretch / height and height / (8 * stretch) <= 1.0 + 1e-9
        assert notes == [f"w drawn ×{stretch:g}"]


def test_contour_has_click_grid_start_minima_and_paths():
    s = surfaces.get("himmelblau")
    run = _run("himmelblau", "adam", 0.05)
    fig = contour_map(_grid("himmelblau"), [run], s.minima, (1.0, -2.0), log=False, uirevision="u")
    roles = _roles(fig)
    assert roles.count("click") == 1 and roles.count("path") == 1 and roles.count("head") == 1
    click = fig.data[roles.index("click")]
    (x0, x1), (y0, y1) = s.bounds
    assert min(click.x) == x0 and max(click.x) == x1 and min(click.y) == y0 and max(click.y) == y1
    minima = [t for t in fig.data if t.name == "minimum"][0]
    assert len(minima.x) == 4
    start = [t for t in fig.data if t.name == "start"][0]
    assert (start.x[0], start.y[0]) == (1.0, -2.0)


def test_loss_curve_switches_to_log_when_the_loss_spans_decades():
    s = surfaces.get("rosenbrock")
    run = _run("rosenbrock", "adam", 0.1, epochs=400)
    fig = loss_curve([run], s.minimum_loss, uirevision="u")
    assert fig.layout.yaxis.type == "log"
    flat = RunView("flat", RUN_COLORS[0], run.params[:3], np.array([3.0, 2.5, 2.0]), "finished")
    assert loss_curve([flat], 0.0, uirevision="u").layout.yaxis.type == "linear"


def test_loss_curve_marks_divergence_and_keeps_finite_points():
    bad = _run("rosenbrock", "sgd", 10.0)
    fig = loss_curve([bad], 0.0, uirevision="u")
    assert any(shape.x0 == bad.diverged_epoch for shape in fig.layout.shapes)
    y = np.asarray(fig.data[0].y, dtype=float)
    assert np.isnan(y[-1]) or np.isfinite(y[-1])
    assert np.all(np.isfinite(y[:2]))


def test_a_diverging_run_does_not_stretch_the_loss_axis():
    good = _run("rosenbrock", "adam", 0.1, epochs=100, label="good")
    bad = _run("rosenbrock", "sgd", 0.01, epochs=100, label="bad", color=RUN_COLORS[1])
    assert bad.status == "diverged" and np.nanmax(bad.loss[np.isfinite(bad.loss)]) > 1e9 * bad.loss[0]
    assert fig_is_linear_when_losses_go_negative()
    fig = loss_curve([good, bad], 0.0, uirevision="u")
    ys = np.concatenate([np.asarray(t.y, dtype=float) for t in fig.data if (t.meta or {}).get("role") == "path"])
    assert np.nanmax(ys) <= 1e6 * max(good.loss[0], bad.loss[0]) * (1 + 1e-6)
    # beside a run that stays, the runaway one is drawn up to twice that run's highest loss
    assert np.nanmax(ys) <= 2 * np.nanmax(good.loss) * (1 + 1e-6)
    alone = loss_curve([bad], 0.0, uirevision="u")
    assert alone.layout.yaxis.type == "log" and _labels(alone.layout.yaxis) == 2  # one label height apart


def _labels(yaxis) -> int:
    """How many labels a log axis shows: its tick0 + k·dtick inside its range."""
    lo, hi = yaxis.range
    return sum(1 for k in range(-50, 50) if lo <= yaxis.tick0 + k * yaxis.dtick <= hi)


def fig_is_linear_when_losses_go_negative() -> bool:
    """The saddle's loss goes below zero: the curve keeps a linear axis and every point."""
    run = _run("saddle", "sgd", 0.05, epochs=110, start=(-1.5, 0.001))
    assert np.nanmin(run.loss) < 0
    fig = loss_curve([run], float("nan"), uirevision="u")
    y = np.asarray(fig.data[0].y, dtype=float)
    return fig.layout.yaxis.type == "linear" and np.all(np.isfinite(y))


def test_the_contour_map_is_at_equal_scale_unless_the_box_is_long():
    bowl = contour_map(_grid("bowl"), [], surfaces.get("bowl").minima, (0, 0), log=False,
                       uirevision="u")
    assert bowl.layout.yaxis.scaleanchor == "x" and bowl.layout.yaxis.scaleratio == 1
    assert not bowl.layout.annotations
    xs = np.linspace(0, 100, 30)
    long = Grid(xs, np.linspace(0, 10, 30), np.add.outer(np.linspace(0, 10, 30), xs))  # 10:1
    fig = contour_map(long, [], np.zeros((0, 2)), (1, 1), log=False, uirevision="u")
    assert fig.layout.yaxis.scaleanchor is None
    assert [a.text for a in fig.layout.annotations] == ["axes not to scale"]


def test_short_runs_get_whole_epoch_ticks():
    for epochs, step in ((2, 1), (5, 1), (8, 2)):
        fig = loss_curve([_run("bowl", "sgd", 0.01, epochs=epochs)], 0.0, uirevision="u")
        assert fig.layout.xaxis.dtick == step and fig.layout.xaxis.tickformat == "d"


def test_the_loss_curve_marks_the_tolerance_with_a_dotted_line_in_the_legend():
    s = surfaces.get("bowl")
    fast = _run("bowl", "sgd", 0.05, epochs=100, label="fast")
    slow = _run("bowl", "sgd", 0.002, epochs=100, label="slow", color=RUN_COLORS[1])
    fig = loss_curve([fast, slow], s.minimum_loss, uirevision="u", tolerance=1e-3)
    assert fig.layout.yaxis.type == "log"
    (line,) = [t for t in fig.data if (t.meta or {}).get("role") == "tolerance"]
    assert tuple(line.y) == (1e-3, 1e-3) and line.line.dash == "dot"
    assert line.name == "within 0.001 of the minimum" and line.showlegend and fig.layout.showlegend
    # the fast run's curve crosses it, the slow one's does not
    assert np.min(fast.loss - s.minimum_loss) < 1e-3 < np.min(slow.loss - s.minimum_loss)
    # no run near it: no line (nor a legend entry for a line the axis would not show)
    alone = loss_curve([slow], s.minimum_loss, uirevision="u", tolerance=1e-3)
    assert not [t for t in alone.data if (t.meta or {}).get("role") == "tolerance"]
    # a log axis with a label at 10⁻³ and at least two more, so "below 0.001" can be read, and
    # no more than four labels in the plot's 150 px (one label height apart)
    gaps = np.concatenate([fast.loss, slow.loss]) - s.minimum_loss
    decades = np.log10(gaps.max()) - np.log10(gaps[gaps > 0].min())
    axis = fig.layout.yaxis
    assert (-3 - axis.tick0) % axis.dtick == 0 and _labels(axis) == 2 and decades > 3


def test_mini_batch_steps_are_small_lighter_dots_between_the_epoch_dots():
    from lab.lessons import LESSONS
    from lab.runs import run_one

    config = LESSONS["minibatch-noise"].config
    full, noisy = (run_one(config, c) for c in config.runs)
    assert noisy.steps.shape == (100 * 16, 2) and full.steps is None  # 64 samples, batch 4
    # the last step of each epoch is that epoch's dot
    assert np.array_equal(noisy.steps[15::16], noisy.trajectory.params[1:])
    s = config.surface_obj()
    grid = _grid(config.surface)
    views = [RunView(r.choice.label, RUN_COLORS[i], r.trajectory.params, r.trajectory.loss,
                     r.trajectory.status, None, r.steps, r.step_loss) for i, r in enumerate((full, noisy))]
    for fig in (surface_3d(grid, views, s.minima, log=False, uirevision="u"),
                contour_map(grid, views, s.minima, s.start, log=False, uirevision="u")):
        steps = [t for t in fig.data if (t.meta or {}).get("role") == "steps"]
        path = next(t for t in fig.data if (t.meta or {}).get("role") == "path")
        assert len(steps) == 1 and steps[0].meta["run"] == 1 and len(steps[0].x) == 1600
        assert steps[0].marker.size < path.marker.size and steps[0].marker.opacity < 1
        assert steps[0].marker.color == RUN_COLORS[1]


def test_the_offline_html_opens_at_the_final_epoch_with_a_player():
    from figures.html import at_final_epoch, figures_html, size_words

    run = _run("rosenbrock", "adam", 0.1, epochs=40)
    figs = {"contour": contour_map(_grid("rosenbrock"), [run], surfaces.get("rosenbrock").minima,
                                   (-1.5, 2.0), log=True, uirevision="u"),
            "loss": loss_curve([run], 0.0, uirevision="u")}
    head = next(t for t in at_final_epoch(figs["contour"]).data if (t.meta or {}).get("role") == "head")
    assert (head.x[0], head.y[0]) == pytest.approx(tuple(run.params[-1]), rel=1e-6)
    # the page's own figure still has its head at the start (the browser moves it)
    start_head = next(t for t in figs["contour"].data if (t.meta or {}).get("role") == "head")
    assert tuple(start_head.x) == pytest.approx(tuple(run.params[:1, 0]))
    page = figures_html(figs, "Descent <Lab>")
    assert 'id="epoch" type="range" min="0" max="40" value="40"' in page and "Play" in page
    assert "<title>Descent &lt;Lab&gt;</title>" in page and 'src="https://cdn.plot.ly' not in page
    assert size_words(len(page.encode())).endswith("MB") and size_words(820_400) == "820 KB"


def test_the_decision_boundary_map_is_at_equal_scale():
    from dataclasses import replace

    from figures.network import boundary_figure
    from lab.config import network_data, network_defaults
    from lab.runs import network_result

    config = replace(network_defaults(), epochs=3)
    result = network_result(config)
    (X, y), _ = network_data(config)
    fig = boundary_figure(result, X, y, title="t", uirevision="u")
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert list(fig.layout.xaxis.range) == pytest.approx([result.boundary["xs"][0], result.boundary["xs"][-1]])


def test_the_clipping_lessons_clipped_descent_fills_the_loss_axis():
    """Beside the run that diverges at epoch 4, the clipped run's fall from 12.5 to 4.9 must
    read on the axis (it was flat under an axis that went up to 10⁶)."""
    from lab.lessons import LESSONS
    from lab.runs import run_one

    config = LESSONS["clipping"].config
    views = [RunView(r.choice.label, RUN_COLORS[i], r.trajectory.params, r.trajectory.loss,
                     r.trajectory.status, r.trajectory.diverged_epoch)
             for i, r in enumerate(run_one(config, c) for c in config.runs)]
    fig = loss_curve(views, 0.0, uirevision="u", tolerance=1e-3)
    lo, hi = fig.layout.yaxis.range
    clipped = views[0].loss
    if fig.layout.yaxis.type == "log":
        share = (np.log10(clipped.max()) - np.log10(clipped.min())) / (hi - lo)
    else:
        share = (clipped.max() - clipped.min()) / (hi - lo)
    assert share > 0.25, share


def test_the_tolerance_line_is_inside_the_axis_whenever_its_legend_shows():
    s = surfaces.get("rosenbrock")
    near = _run("rosenbrock", "adam", 0.1, epochs=500)  # ends near 0.0094: within ten times
    assert 1e-3 < np.min(near.loss) <= 1e-2
    fig = loss_curve([near], s.minimum_loss, uirevision="u", tolerance=1e-3)
    assert [t for t in fig.data if (t.meta or {}).get("role") == "tolerance"]
    lo, hi = fig.layout.yaxis.range
    assert fig.layout.yaxis.type == "log" and lo < -3 < hi
    axis = view_loss_axis([near.loss], s.minimum_loss, include=1e-3)
    assert axis["include"] == 1e-3


def test_an_exact_hit_of_the_minimum_keeps_the_log_line_going_to_the_end():
    loss = np.array([10.0, 1.0, 1e-2, 1e-4, 1e-6, 0.0, 0.0])
    run = RunView("exact", RUN_COLORS[0], np.zeros((7, 2)), loss, "converged")
    fig = loss_curve([run], 0.0, uirevision="u")
    y = np.asarray(fig.data[0].y, dtype=float)
    assert fig.layout.yaxis.type == "log"
    assert np.all(np.isfinite(y)) and np.all(y > 0) and y[-1] < 1e-6  # drawn below the lowest
    axis = view_loss_axis([loss], 0.0)
    assert axis["log"] and 0 < axis["zero"] < 1e-6
    # a loss so small that float32 would send it as 0 is drawn too
    tiny = RunView("tiny", RUN_COLORS[0], np.zeros((3, 2)), np.array([1.0, 1e-3, 1e-50]), "finished")
    y = np.asarray(loss_curve([tiny], 0.0, uirevision="u").data[0].y, dtype=np.float32)
    assert np.all(y > 0)


def test_a_surface_without_a_minimum_stops_its_axis_at_the_lowest_plotted_loss():
    run = _run("saddle", "sgd", 0.06, epochs=110, start=(-1.5, 0.001))
    assert np.nanmin(run.loss) < -1000
    fig = loss_curve([run], float("nan"), uirevision="u", bottom=-4.0)
    lo, hi = fig.layout.yaxis.range
    assert fig.layout.yaxis.type == "linear" and -5 < lo < -4 and hi < 3
    y = np.asarray(fig.data[0].y, dtype=float)
    assert np.all(np.isfinite(y)) and y.min() == -4.0


def test_every_minimum_of_himmelblau_is_marked_above_the_surface_in_3d():
    from figures.descent import _height_at, height

    s = surfaces.get("himmelblau")
    grid = _grid("himmelblau")
    fig = surface_3d(grid, [], s.minima, log=True, uirevision="u")
    (marks,) = [t for t in fig.data if t.name == "minimum"]
    assert len(marks.x) == 4
    floor = float(np.nanmin(grid.Z))
    H = height(grid.Z, floor, True)
    surface_there = _height_at(grid, s.minima, floor, True, float(H.min()), float(H.max()))
    # the surface between grid nodes lies above the lowest node: a mark at the grid's lowest
    # height was under it at three of the four minima
    assert np.sum(surface_there > H.min() + 0.012 * (H.max() - H.min())) >= 1
    assert np.all(np.asarray(marks.z, dtype=float) > surface_there)


def test_the_presenter_map_of_a_wide_box_is_no_strip():
    from figures.descent import for_presenter

    bowl = contour_map(_grid("bowl"), [], surfaces.get("bowl").minima, (0, 0), log=False, uirevision="u")
    fig = for_presenter(bowl)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    drawn_aspect = abs(x1 - x0) / (abs(y1 - y0) * fig.layout.yaxis.scaleratio)
    assert drawn_aspect <= 1.5 and "w2 drawn ×" in fig.layout.annotations[0].text
    square = for_presenter(contour_map(_grid("himmelblau"), [], surfaces.get("himmelblau").minima,
                                       (0, 0), log=False, uirevision="u"))
    assert square.layout.yaxis.scaleratio == 1 and not square.layout.annotations


def test_a_log_axis_far_above_the_tolerance_starts_its_labels_on_the_axis():
    """A diverging run from 10 to 10⁶: labels from its lowest decade, not from 10⁻³ (which left
    one label on the presenter axis)."""
    loss = np.geomspace(10.0, 3e6, 20)
    axis = view_loss_axis([loss], 0.0, presenter=True)
    assert axis["log"] and axis["tick0"] == 1.0
    labels = [axis["tick0"] + k * axis["dtick"] for k in range(10)]
    assert len([v for v in labels if 1 <= v <= np.log10(3e6)]) == 2
    near = view_loss_axis([np.geomspace(10.0, 1e-5, 20)], 0.0, presenter=True)
    assert near["tick0"] == -3  # 10⁻³, the tolerance, is labelled when on the axis


def test_a_later_run_is_drawn_smaller_so_a_run_underneath_shows_as_a_ring():
    from figures.descent import overlap_scale

    a = _run("bowl", "sgd", 0.05, epochs=10, label="first")
    b = RunView("second", RUN_COLORS[1], a.params, a.loss, a.status)  # the very same path
    for fig in (surface_3d(_grid("bowl"), [a, b], surfaces.get("bowl").minima, log=False, uirevision="u"),
                contour_map(_grid("bowl"), [a, b], surfaces.get("bowl").minima, (0, 0), log=False,
                            uirevision="u")):
        for role in ("path", "head"):
            first, second = (t for t in fig.data if (t.meta or {}).get("role") == role)
            assert second.marker.size < first.marker.size
    assert overlap_scale(0) == 1 and overlap_scale(5) >= 0.6


def test_mini_batch_sgd_keeps_epochs_on_the_loss_axis():
    """16 steps an epoch is 16 gradient evaluations an epoch: no L-BFGS, so the x axis stays
    'epoch' (the mini-batch lessons were drawn against gradient evaluations)."""
    from figures.descent import uses_evals_axis
    from lab.lessons import LESSONS
    from lab.runs import run_one

    config = LESSONS["minibatch-noise"].config
    views = []
    for i, c in enumerate(config.runs):
        r = run_one(config, c)
        views.append(RunView(r.choice.label, RUN_COLORS[i], r.trajectory.params, r.trajectory.loss,
                             r.trajectory.status, None, r.steps, r.step_loss,
                             evals=getattr(r.trajectory, "evals", None)))
    assert not uses_evals_axis(views)
    assert loss_curve(views, 0.0, uirevision="u").layout.xaxis.title.text == "epoch"


def test_the_tolerance_level_counts_in_the_labels_of_the_view_axis():
    """Runs ending near 10⁻² with the dotted 10⁻³ line on the axis: the labels are spaced over
    the whole axis the view draws (it had one label per decade, five in a 70 px plot)."""
    loss = np.geomspace(10.0, 0.008, 30)
    axis = view_loss_axis([loss], 0.0, include=1e-3)
    assert axis["tick0"] == -3
    lo, hi = -3.0, 1.0  # the range the view draws, at least
    labels = [axis["tick0"] + k * axis["dtick"] for k in range(10)]
    assert len([v for v in labels if lo <= v <= hi]) == 2
