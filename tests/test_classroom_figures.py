"""Class mode's figures: the answer map carries no run, the class's answers and the truth after
the reveal, and bars count the choices."""

from __future__ import annotations

import numpy as np

from figures import classroom as figs
from figures.descent import Grid


def _grid():
    xs, ys = np.linspace(-2, 2, 21), np.linspace(-1, 1, 11)
    gx, gy = np.meshgrid(xs, ys)
    return Grid(xs, ys, gx ** 2 + 4 * gy ** 2)


def _names(fig):
    return [t.name for t in fig.data]


def test_the_answer_map_has_no_run_and_a_click_grid():
    fig = figs.answer_map(_grid(), np.zeros((1, 2)), (-1.5, 0.5), log=False, clickable=True)
    roles = [(t.meta or {}).get("role") for t in fig.data]
    assert "path" not in roles and "head" not in roles and "click" not in roles
    grid = next(t for t in fig.data if t.name == "your answer")
    assert len(grid.x) == figs.CLICK_POINTS ** 2
    assert float(min(grid.x)) == -2 and float(max(grid.y)) == 1


def test_answers_are_dots_then_a_heat_map():
    rng = np.random.default_rng(0)
    few = rng.uniform(-1, 1, (figs.HEAT_FROM, 2)).tolist()
    fig = figs.answer_map(_grid(), np.zeros((1, 2)), (0, 0), log=False, answers=few, truth=[0.5, 0.2],
                          radius=0.3)
    dots = next(t for t in fig.data if t.name == "the class's answers")
    assert dots.type == "scatter" and len(dots.x) == figs.HEAT_FROM
    assert "the truth" in _names(fig) and fig.layout.shapes[0].type == "circle"
    many = few + [[0.0, 0.0]]
    heat = next(t for t in figs.answer_map(_grid(), np.zeros((1, 2)), (0, 0), log=False,
                                           answers=many).data if t.name == "the class's answers")
    assert heat.type == "histogram2d" and len(heat.x) == figs.HEAT_FROM + 1


def test_choice_bars_count_and_mark_the_truth():
    fig = figs.choice_bars(["converges", "diverges", "stalls"],
                           ["diverges", "stalls", "diverges"], "diverges")
    bar = fig.data[0]
    assert list(bar.y) == [0, 2, 1]
    assert list(bar.marker.color) == [figs.OTHER_COLOR, figs.RIGHT_COLOR, figs.OTHER_COLOR]


def test_number_answers_mark_truth_and_tolerance():
    fig = figs.number_answers([30, 35, 36], 35, 0, 60, 3.5)
    assert all(t.type == "histogram" for t in fig.data)
    assert sorted(x for t in fig.data for x in t.x) == [30, 35, 36]
    shapes = [(s.type, s.x0, s.x1) for s in fig.layout.shapes]
    assert ("rect", 31.5, 38.5) in shapes and ("line", 35, 35) in shapes


def test_right_answers_look_the_same_in_both_charts():
    """A right answer is green and a wrong one grey, whether the question is a choice or an
    epoch: the room reads the two charts the same way."""
    bars = figs.choice_bars(["converges", "diverges"], ["diverges", "converges"], "diverges").data[0]
    colour_of = dict(zip(bars.x, bars.marker.color))
    fig = figs.number_answers([30, 35, 36, 50], 35, 0, 60, 3.5)
    by_colour = {t.marker.color: sorted(t.x) for t in fig.data}
    assert by_colour[colour_of["diverges"]] == [35, 36], "the right epochs: the right bar's colour"
    assert by_colour[colour_of["converges"]] == [30, 50], "the wrong epochs: the wrong bar's colour"
    assert fig.layout.barmode == "stack"
    dots = next(t for t in figs.answer_map(_grid(), np.zeros((1, 2)), (0, 0), log=False,
                                           answers=[[0.1, 0.0], [3.0, 3.0]], truth=[0.0, 0.0],
                                           radius=0.5).data if t.name == "the class's answers")
    assert list(dots.marker.color) == [colour_of["diverges"], colour_of["converges"]], "and on the map"
