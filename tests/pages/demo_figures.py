"""Figures for the chart demo and the benchmark reference: gradient descent on Himmelblau's
function, built with plotly.graph_objects and the descent view's trace roles. Test scaffolding
only; the app's figures come from figures/descent.py."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

BOUNDS = (-5.0, 5.0)
COLORS = ("#0072B2", "#D55E00")


def loss(w: np.ndarray) -> np.ndarray:
    x, y = w[..., 0], w[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def grad(w: np.ndarray) -> np.ndarray:
    x, y = w[..., 0], w[..., 1]
    a, b = x**2 + y - 11, x + y**2 - 7
    return np.stack([4 * a * x + 2 * b, 2 * a + 4 * b * y], axis=-1)


def descend(start, learning_rate: float, epochs: int, momentum: float) -> np.ndarray:
    """Heavy-ball descent; the path, shape (epochs+1, 2), stops early if it leaves the box."""
    w = np.array(start, dtype=np.float64)
    velocity = np.zeros(2)
    path = [w.copy()]
    for _ in range(epochs):
        velocity = momentum * velocity + grad(w)
        w = w - learning_rate * velocity
        if not np.all(np.abs(w) <= 50):
            break
        path.append(w.copy())
    return np.array(path)


def f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def build_figures(learning_rate: float, epochs: int, start=(-1.0, -4.0), grid: int = 80) -> dict:
    """{"surface3d", "contour", "loss"}: Plotly figure dicts as ui.descent_view.descent_view takes."""
    xs = np.linspace(*BOUNDS, grid)
    gx, gy = np.meshgrid(xs, xs, indexing="xy")
    z = np.log10(1 + loss(np.stack([gx, gy], axis=-1)))
    runs = {
        "gradient descent": descend(start, learning_rate, epochs, 0.0),
        "momentum 0.8": descend(start, learning_rate, epochs, 0.8),
    }
    s3d = go.Figure(go.Surface(x=f32(xs), y=f32(xs), z=f32(z), colorscale="Viridis",
                               showscale=False, opacity=0.95))
    contour = go.Figure(go.Contour(x=f32(xs), y=f32(xs), z=f32(z), colorscale="Viridis",
                                   showscale=False, ncontours=20, hoverinfo="skip"))
    cx = np.linspace(*BOUNDS, 30)
    cgx, cgy = np.meshgrid(cx, cx, indexing="xy")
    contour.add_trace(go.Scatter(x=f32(cgx.ravel()), y=f32(cgy.ravel()), mode="markers",
                                 marker=dict(size=12, color="rgba(0,0,0,0.004)"),
                                 meta={"role": "click"}, showlegend=False, name="click"))
    curve = go.Figure()
    for r, (label, path) in enumerate(runs.items()):
        lz = np.log10(1 + loss(path)) + 0.05
        for fig, kw in ((s3d, dict(z=f32(lz))), (contour, {})):
            cls = go.Scatter3d if fig is s3d else go.Scatter
            fig.add_trace(cls(x=f32(path[:, 0]), y=f32(path[:, 1]), mode="lines+markers",
                              name=label, meta={"role": "path", "run": r},
                              marker=dict(size=4 if fig is s3d else 6, color=COLORS[r]),
                              line=dict(color=COLORS[r], width=2), **kw))
            fig.add_trace(cls(x=f32(path[:1, 0]), y=f32(path[:1, 1]), mode="markers",
                              meta={"role": "head", "run": r}, showlegend=False,
                              marker=dict(size=9 if fig is s3d else 13, color=COLORS[r],
                                          line=dict(color="white", width=2)),
                              **({"z": kw["z"][:1]} if kw else {})))
        epochs_axis = np.arange(len(path), dtype=np.float32)
        curve.add_trace(go.Scatter(x=epochs_axis, y=f32(loss(path)), mode="lines", name=label,
                                   meta={"role": "path", "run": r},
                                   line=dict(color=COLORS[r], width=3)))
        curve.add_trace(go.Scatter(x=epochs_axis[:1], y=f32(loss(path[:1])), mode="markers",
                                   meta={"role": "head", "run": r}, showlegend=False,
                                   marker=dict(size=10, color=COLORS[r])))
    contour.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name="start",
                                 marker=dict(symbol="circle-open", size=18, color="black",
                                             line=dict(width=3))))
    font = dict(size=15)
    s3d.update_layout(margin=dict(l=0, r=0, t=0, b=0), font=font,
                      scene=dict(xaxis_title="w1", yaxis_title="w2", zaxis_title="log loss"),
                      legend=dict(x=0.01, y=0.99))
    contour.update_layout(margin=dict(l=50, r=10, t=10, b=40), font=font, hovermode="closest",
                          xaxis=dict(title="w1", range=list(BOUNDS)),
                          yaxis=dict(title="w2", range=list(BOUNDS)), showlegend=False)
    curve.update_layout(margin=dict(l=60, r=10, t=10, b=40), font=font,
                        xaxis=dict(title="epoch", range=[0, epochs]),
                        yaxis=dict(title="loss", type="log"))
    max_epoch = max(len(p) - 1 for p in runs.values())
    figures = {"surface3d": s3d, "contour": contour, "loss": curve}
    return {name: json.loads(pio.to_json(fig)) for name, fig in figures.items()}, max_epoch
