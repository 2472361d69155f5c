"""Class mode's figures: the map a student answers on (no run on it), and the class's answers
after the reveal (dots, or a heat map past HEAT_FROM answers; bars for a choice; a histogram for
a number), each with the truth marked."""

from __future__ import annotations

from collections import Counter

import numpy as np
import plotly.graph_objects as go

from figures import descent
from figures.descent import FONT, Grid, f32

HEAT_FROM = 50  # past this many answers, dots would hide each other: a heat map instead
CLICK_POINTS = 41  # the answer map's clickable grid: a point every 1/40 of the box
ANSWER_COLOR = "#D55E00"
TRUTH_COLOR = "#0072B2"
RIGHT_COLOR = "#009E73"
OTHER_COLOR = "#9CA3AF"


def answer_map(grid: Grid, minima: np.ndarray, start, *, log: bool, answers=(), truth=None,
               radius: float | None = None, clickable: bool = False, mine=None) -> go.Figure:
    """The contour map without any run. `clickable`: a grid of nearly invisible points, so a
    click anywhere on the map selects a point (st.plotly_chart's point selection). `answers`:
    the class's points; `truth`: the run's point, with a circle of `radius` (right answers lie
    inside); `mine`: this student's answer."""
    fig = descent.contour_map(grid, [], minima, start, log=log, uirevision="class-map")
    # The descent view's click trace has no use here (st.plotly_chart selects drawn points).
    fig.data = tuple(t for t in fig.data if (t.meta or {}).get("role") != "click")
    if clickable:
        gx, gy = np.meshgrid(np.linspace(grid.xs[0], grid.xs[-1], CLICK_POINTS),
                             np.linspace(grid.ys[0], grid.ys[-1], CLICK_POINTS), indexing="xy")
        fig.add_trace(go.Scatter(
            x=f32(gx.ravel()), y=f32(gy.ravel()), mode="markers", name="your answer",
            marker=dict(size=13, color="rgba(0,0,0,0.01)"), showlegend=False,
            hovertemplate="answer here: (%{x:.3g}, %{y:.3g})<extra></extra>"))
    points = np.asarray([a for a in answers], dtype=float).reshape(-1, 2)
    if len(points) > HEAT_FROM:
        fig.add_trace(go.Histogram2d(
            x=f32(points[:, 0]), y=f32(points[:, 1]), nbinsx=24, nbinsy=24, showscale=False,
            colorscale=[[0.0, "rgba(213,94,0,0)"], [0.01, "rgba(213,94,0,0.25)"],
                        [1.0, "rgba(213,94,0,0.9)"]],
            xbins=dict(start=float(grid.xs[0]), end=float(grid.xs[-1])),
            ybins=dict(start=float(grid.ys[0]), end=float(grid.ys[-1])),
            hovertemplate="%{z} answers here<extra></extra>", name="the class's answers"))
    elif len(points):
        # After the reveal, as in the charts: the right answers (within `radius`) green, the
        # others grey; before it (no truth) all in one colour.
        colour = np.full(len(points), ANSWER_COLOR, dtype=object)
        if truth is not None and radius:
            right = np.hypot(points[:, 0] - truth[0], points[:, 1] - truth[1]) <= radius
            colour[:] = OTHER_COLOR
            colour[right] = RIGHT_COLOR
        fig.add_trace(go.Scatter(
            x=f32(points[:, 0]), y=f32(points[:, 1]), mode="markers", name="the class's answers",
            marker=dict(size=11, color=list(colour), opacity=0.9, line=dict(color="white", width=1)),
            hovertemplate="an answer: (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False))
    if mine is not None:
        fig.add_trace(go.Scatter(
            x=f32([mine[0]]), y=f32([mine[1]]), mode="markers", name="your answer",
            marker=dict(symbol="x", size=16, color="#111827", line=dict(color="white", width=1)),
            hovertemplate="your answer: (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False))
    if truth is not None:
        fig.add_trace(go.Scatter(
            x=f32([truth[0]]), y=f32([truth[1]]), mode="markers", name="the truth",
            marker=dict(symbol="diamond", size=18, color=TRUTH_COLOR, line=dict(color="white", width=2)),
            hovertemplate="the run: (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False))
        if radius:
            fig.add_shape(type="circle", xref="x", yref="y", x0=truth[0] - radius,
                          x1=truth[0] + radius, y0=truth[1] - radius, y1=truth[1] + radius,
                          line=dict(color=TRUTH_COLOR, width=2, dash="dot"))
    fig.update_layout(clickmode="event+select", dragmode=False, height=420,
                      margin=dict(l=55, r=10, t=10, b=45))
    return fig


def choice_bars(choices, answers, truth) -> go.Figure:
    """How many chose each choice; the truth's bar (the right answers) in green, the others grey,
    as in number_answers."""
    counts = Counter(answers)
    colors = [RIGHT_COLOR if c == truth else OTHER_COLOR for c in choices]
    fig = go.Figure(go.Bar(
        x=list(choices), y=[counts.get(c, 0) for c in choices], marker_color=colors,
        text=[str(counts.get(c, 0)) for c in choices], textposition="outside",
        hovertemplate="%{x}: %{y}<extra></extra>"))
    fig.update_layout(font=FONT, height=300, margin=dict(l=45, r=10, t=20, b=45),
                      yaxis=dict(title="answers", rangemode="tozero", dtick=1 if len(answers) <= 10 else None),
                      plot_bgcolor="white", paper_bgcolor="white", showlegend=False)
    return fig


def number_answers(answers, truth, lo: float, hi: float, tolerance: float) -> go.Figure:
    """The class's numbers as a histogram, the right ones (within the tolerance of the truth)
    in green and the others grey, as the choice bars; the truth as a line, its tolerance as a
    band."""
    values = np.asarray(answers, dtype=float).ravel()
    right = np.abs(values - truth) <= tolerance if truth is not None else np.zeros(len(values), bool)
    bins = dict(start=lo, end=hi, size=max(1.0, (hi - lo) / 40))
    fig = go.Figure([go.Histogram(x=f32(values[mask]), xbins=bins, marker_color=color, name=name,
                                  hovertemplate="%{x}: %{y}" + f" {name}<extra></extra>")
                     for mask, color, name in ((right, RIGHT_COLOR, "right"), (~right, OTHER_COLOR, "not right"))])
    fig.update_layout(barmode="stack")
    if truth is not None:
        fig.add_vrect(x0=truth - tolerance, x1=truth + tolerance, fillcolor=RIGHT_COLOR, opacity=0.15,
                      line_width=0)
        fig.add_vline(x=truth, line=dict(color=TRUTH_COLOR, width=3))
    fig.update_layout(font=FONT, height=300, margin=dict(l=45, r=10, t=20, b=45), bargap=0.05,
                      xaxis=dict(title="epoch", range=[lo, hi]), yaxis=dict(title="answers"),
                      plot_bgcolor="white", paper_bgcolor="white", showlegend=False)
    return fig
