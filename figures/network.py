"""Figures of the network mode: the decision boundary (or fitted curve) with its frames, the held-out loss in the loss view, and the accuracy per epoch."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures import descent as figures

CLASS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def boundary_figure(result, X, y, *, title: str, uirevision: str) -> go.Figure:
    """The first run's decision boundary (or fitted curve) with the data. The trace with role
    "frames" holds one frame per listed epoch; the browser shows the frame of the epoch on screen."""
    b = result.boundary
    traces = []
    frames_meta = {"role": "frames", "epochs": [int(e) for e in b["epochs"]]}
    if b["kind"] == "classes":
        classes = b["classes"]
        if classes == 2:
            scale = [[0, "#9ccbe8"], [0.5, "#f7f7f7"], [1, "#f2b382"]]
        else:
            scale = [[i / (classes - 1), c] for i, c in enumerate(["#9ccbe8", "#f2b382", "#9fd8c3", "#e8b7d2"][:classes])]
        frames = b["frames"]
        traces.append(go.Heatmap(
            x=figures.f32(b["xs"]), y=figures.f32(b["ys"]), z=frames[-1], zmin=0, zmax=255,
            colorscale=scale, showscale=False, hoverinfo="skip", name="prediction",
            meta={**frames_meta, "frames": frames}))
        for c in range(classes):
            mask = y == c
            traces.append(go.Scatter(
                x=figures.f32(X[mask, 0]), y=figures.f32(X[mask, 1]), mode="markers",
                marker=dict(size=7, color=CLASS_COLORS[c % len(CLASS_COLORS)],
                            line=dict(color="white", width=0.8)),
                name=f"class {c}", hoverinfo="skip"))
        xaxis, yaxis = "x₁", "x₂"
        axes = figures.equal_scale_axes(dict(title=xaxis, range=[float(b["xs"][0]), float(b["xs"][-1])]),
                                        dict(title=yaxis, range=[float(b["ys"][0]), float(b["ys"][-1])]))
    else:
        traces.append(go.Scatter(x=figures.f32(X[:, 0]), y=figures.f32(y), mode="markers",
                                 marker=dict(size=7, color="#555"), name="data", hoverinfo="skip"))
        traces.append(go.Scatter(
            x=figures.f32(b["xs"]), y=b["frames"][-1], mode="lines", name="network's fit",
            line=dict(color=figures.RUN_COLORS[0], width=4),
            meta={**frames_meta, "frames": b["frames"]}))
        axes = (dict(title="x"), dict(title="y"), [])  # a fitted curve: x and y are not alike
    # The decision boundary over the plane of the inputs at equal scale, so its shape is true.
    layout = dict(
        uirevision=uirevision, font=figures.FONT, margin=dict(l=45, r=10, t=34, b=40),
        title=dict(text=title, x=0.02, y=0.98, font=dict(size=15)),
        xaxis=axes[0], yaxis=axes[1], annotations=axes[2], showlegend=False,
        paper_bgcolor="white", plot_bgcolor="white")
    return go.Figure(data=traces, layout=layout)


HELD_OUT_SUFFIX = " · held out"


def with_held_out(loss_fig: go.Figure, trained: int) -> go.Figure:
    """The loss view whose runs after the first `trained` are held-out curves (built by
    figures.descent.loss_curve with them, so the axis holds both): drawn as dots in their run's
    colour, epoch by epoch like the training line, without a moving head of their own."""
    traces = []
    for trace in loss_fig.data:
        meta = trace.meta if isinstance(trace.meta, dict) else {}
        run = meta.get("run")
        if isinstance(run, int) and run >= trained:
            if meta.get("role") == "head":
                continue
            if meta.get("role") == "path":
                trace.mode = "markers"
                trace.marker = dict(size=5, color=trace.line.color)
                trace.name = trace.name + HELD_OUT_SUFFIX
                trace.hovertemplate = f"{trace.name}<br>epoch %{{x}}<br>%{{y:.4g}}<extra></extra>"
        traces.append(trace)
    fig = go.Figure(data=traces, layout=loss_fig.layout)
    fig.update_layout(showlegend=True)
    return fig


def accuracy_figure(curves, *, uirevision: str, presenter: bool = False) -> go.Figure:
    """Accuracy per epoch: each run's training accuracy as a line and its held-out accuracy as
    dots, in the run's colour. `curves`: (label, colour, training (E,), held out (E,) or None)."""
    traces = []
    longest = 1
    for label, color, training, held in curves:
        epochs = np.arange(len(training), dtype=np.float32)
        longest = max(longest, len(training) - 1)
        traces.append(go.Scatter(x=epochs, y=figures.f32(training), mode="lines", name=f"{label} · training",
                                 line=dict(color=color, width=3),
                                 hovertemplate=f"{label} · training<br>epoch %{{x}}<br>%{{y:.1%}}<extra></extra>"))
        if held is not None:
            traces.append(go.Scatter(x=epochs, y=figures.f32(held), mode="markers",
                                     name=f"{label}{HELD_OUT_SUFFIX}", marker=dict(size=5, color=color),
                                     hovertemplate=f"{label}{HELD_OUT_SUFFIX}<br>epoch %{{x}}<br>"
                                                   "%{y:.1%}<extra></extra>"))
    size = 18 if presenter else 13
    layout = dict(
        uirevision=uirevision, font=dict(figures.FONT, size=size), height=300 if not presenter else 340,
        margin=dict(l=70, r=10, t=36, b=110),
        title=dict(text="Accuracy per epoch: training (line) and held out (dots)", x=0.01,
                   font=dict(size=size + 1)),
        xaxis=dict(title="epoch", range=[0, longest], tickformat="d"),
        yaxis=dict(title="accuracy", range=[0, 1.02], tickformat=".0%"),
        # under the epoch axis, so it never meets the title
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.4, yanchor="top"),
        paper_bgcolor="white", plot_bgcolor="#f7f8fa")
    return go.Figure(data=traces, layout=layout)
