"""The data behind a data surface: its rows and each run's model at one epoch (a line ŷ = w·x + b,
a sigmoid p = σ(w·x + b) with its decision boundary, or the two-weight network's curve)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from figures import descent

MAX_POINTS = 2000  # rows drawn; a 10,000-row upload is drawn as every k-th row
CURVE_POINTS = 200


@dataclass(frozen=True)
class FitRun:
    """One run's weights at the epoch shown."""

    label: str
    color: str
    w: np.ndarray  # (2,)
    epoch: int


def _rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, int(np.ceil(len(x) / MAX_POINTS)))
    return x[::step], y[::step]


def data_fit_figure(data, model, runs: list[FitRun], *, classes: bool, presenter: bool = False,
                    title: str = "") -> go.Figure:
    """`data` (x, y) of the surface; `model` a surfaces.models.Model (its forward pass draws the
    curves); `classes`: y holds 0/1 labels (drawn at 0 and 1, the curve is p(class 1))."""
    x, y = (np.asarray(a, dtype=np.float64) for a in data)
    px, py = _rows(x, y)
    traces = []
    if classes:
        # labels at 0 and 1, spread a little up and down so that equal x are seen as many rows
        jitter = (np.random.default_rng(0).random(len(py)) - 0.5) * 0.06
        traces.append(go.Scatter(
            x=descent.f32(px), y=descent.f32(py + jitter), mode="markers", name="your rows",
            marker=dict(size=6, color=np.where(py > 0.5, "#111827", "#9ca3af"), opacity=0.6),
            hovertemplate="x = %{x:.4g}<extra>row</extra>", meta={"role": "rows"}))
    else:
        traces.append(go.Scatter(
            x=descent.f32(px), y=descent.f32(py), mode="markers", name="your rows",
            marker=dict(size=6, color="#6b7280", opacity=0.6),
            hovertemplate="x = %{x:.4g}<br>y = %{y:.4g}<extra>row</extra>", meta={"role": "rows"}))
    lo, hi = float(x.min()), float(x.max())
    pad = 0.05 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, CURVE_POINTS)
    shapes = []
    for r, run in enumerate(runs):
        w = np.asarray(run.w, dtype=np.float64).reshape(1, 2)
        if not np.all(np.isfinite(w)):
            continue
        with np.errstate(all="ignore"):
            out = model.forward(w, grid[None, :])
        curve = np.asarray(out["p"] if "p" in out else out["yhat"], dtype=np.float64).reshape(-1)
        traces.append(go.Scatter(
            x=descent.f32(grid), y=descent.f32(curve), mode="lines", name=f"{run.label} at epoch {run.epoch}",
            line=dict(color=run.color, width=3), meta={"role": "model", "run": r},
            hovertemplate=f"{run.label}<br>x = %{{x:.4g}}<br>%{{y:.4g}}<extra></extra>"))
        if classes and w[0, 0] != 0:
            boundary = -w[0, 1] / w[0, 0]  # p = 0.5 where w·x + b = 0
            if lo - pad <= boundary <= hi + pad:
                shapes.append(dict(type="line", xref="x", yref="paper", x0=boundary, x1=boundary,
                                   y0=0, y1=1, line=dict(color=run.color, dash="dot", width=2)))
    size = 19 if presenter else 15
    if classes:
        span = (float(np.min(y)) - 0.15, float(np.max(y)) + 0.15)
    else:
        margin = 0.1 * (float(y.max() - y.min()) or 1.0)
        span = (float(y.min()) - margin, float(y.max()) + margin)
    layout = dict(
        font=dict(descent.FONT, size=size), height=340, paper_bgcolor="white", plot_bgcolor="#f7f8fa",
        # the title on a line of its own above the legend (on one line they overlapped)
        margin=dict(l=70, r=10, t=3 * size + 20 if title else 10, b=50),
        title=dict(text=title, x=0.01, y=0.98, yref="container", yanchor="top",
                   font=dict(size=size)) if title else None,
        xaxis=dict(title="x", range=[lo - pad, hi + pad]),
        yaxis=dict(title="p(class 1)" if classes else "y", range=list(span)),
        legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"),
        shapes=shapes, showlegend=True)
    return go.Figure(data=traces, layout=layout)
