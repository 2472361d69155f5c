"""Figures of the network mode: the decision boundary (or fitted curve) with its frames."""

from __future__ import annotations

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
