"""Neural network mode: train an MLP with the same engine, slice its loss surface along the PCA
plane of the runs, and build the figures (the landscape with the paths, the decision boundary
at every epoch, the loss). Plain Python and NumPy: the page adds caching and progress."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import plotly.graph_objects as go

from engine import landscape
from engine.network import MLP
from engine.train import Trajectory, collect, train
from views import figures
from views.compute import make_clip, make_schedule
from views.state import Config, RunChoice, network_data, network_layers

LANDSCAPE_POINTS = 41
BOUNDARY_POINTS = 48
MAX_FRAMES = 40
CLASS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


@dataclass(frozen=True)
class NetRun:
    choice: RunChoice
    trajectory: Trajectory | None
    accuracy: float | None
    error: str | None = None


@dataclass(frozen=True)
class NetworkResult:
    layers: list[int]
    task: str
    runs: list[NetRun]
    plane: landscape.Plane | None
    alphas: np.ndarray | None
    betas: np.ndarray | None
    Z: np.ndarray | None
    reports: list  # landscape.Honesty per run (None for a run that did not train)
    boundary: dict | None  # frames of the first run's decision boundary or fitted curve
    error: str | None = None


def network_key(config: Config) -> tuple:
    return ("network", config.dataset, config.hidden, config.activation, config.runs,
            config.learning_rate, config.epochs, config.batch_size, config.seed, config.clip,
            config.clip_limit if config.clip != "off" else None, config.schedule, config.warmup)


def build_mlp(config: Config) -> MLP:
    """The network of this config (ValueError with a message for bad layer sizes)."""
    (X, y), info = network_data(config)
    return MLP(network_layers(config), activation=config.activation, task=info.task, data=(X, y),
               seed=config.seed)


def compute(config: Config, on_epoch: Callable[[str, int, float], None] | None = None) -> NetworkResult:
    """Train every chosen optimizer from the same initial weights, then slice the landscape."""
    (X, y), info = network_data(config)
    try:
        mlp = build_mlp(config)
    except ValueError as err:
        return NetworkResult([], info.task, [], None, None, None, None, [], None, str(err))
    runs = []
    for choice in config.runs:
        try:
            opt = choice.make(config.learning_rate)
            records = []
            for record in train(mlp, opt, epochs=config.epochs, batch_size=config.batch_size,
                                start=mlp.start, seed=config.seed, clip=make_clip(config),
                                schedule=make_schedule(config)):
                records.append(record)
                if on_epoch is not None:
                    on_epoch(choice.label, record.epoch, record.loss)
        except ValueError as err:
            runs.append(NetRun(choice, None, None, f"{choice.label}: {err}"))
            continue
        trajectory = collect(records)
        accuracy = None
        if info.task == "classification" and np.all(np.isfinite(trajectory.params[-1])):
            accuracy = float(mlp.accuracy(trajectory.params[-1]))
        runs.append(NetRun(choice, trajectory, accuracy))
    trained = [r for r in runs if r.trajectory is not None]
    if not trained:
        return NetworkResult(list(mlp.layers), info.task, runs, None, None, None, None, [], None)
    clean = [landscape.before_divergence(r.trajectory) for r in trained]
    plane = landscape.pca_plane(clean, seed=config.seed)
    loss_many = partial(mlp.loss_many, dtype=np.float32)  # the picture; honesty stays float64
    coords = np.concatenate([landscape.project(plane, c) for c in clean])
    alphas, betas = landscape.axis_range(coords, n=LANDSCAPE_POINTS)
    Z = landscape.loss_grid(loss_many, plane, alphas, betas)
    reports = []
    for run in runs:
        if run.trajectory is None:
            reports.append(None)
            continue
        kept = landscape.before_divergence(run.trajectory)
        reports.append(landscape.honesty(mlp.loss_many, plane, kept,
                                         true_loss=run.trajectory.loss[:len(kept)]))
    boundary = _boundary_frames(mlp, info.task, X, y, landscape.before_divergence(trained[0].trajectory))
    return NetworkResult(list(mlp.layers), info.task, runs, plane, alphas, betas, Z, reports, boundary)


def _frame_epochs(n_epochs: int) -> np.ndarray:
    """Up to MAX_FRAMES epochs, evenly spread, the first and the last included."""
    count = min(MAX_FRAMES, n_epochs)
    return np.unique(np.round(np.linspace(0, n_epochs - 1, count)).astype(int))


def _boundary_frames(mlp: MLP, task: str, X, y, params: np.ndarray) -> dict:
    epochs = _frame_epochs(len(params))
    weights = params[epochs]
    if task == "classification":
        lo, hi = X.min(axis=0) - 0.4, X.max(axis=0) + 0.4
        xs = np.linspace(lo[0], hi[0], BOUNDARY_POINTS)
        ys = np.linspace(lo[1], hi[1], BOUNDARY_POINTS)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        points = np.column_stack([gx.ravel(), gy.ravel()])
        proba = np.stack([mlp.predict_proba(w, points) for w in weights])  # (K, m, C)
        if proba.shape[-1] == 2:
            value = proba[..., 1]  # p(class 1): 0.5 is the boundary
        else:
            value = proba.argmax(axis=-1) / (proba.shape[-1] - 1)
        with np.errstate(invalid="ignore"):
            frames = np.nan_to_num(np.round(value * 255)).astype(np.uint8)
        return {"kind": "classes", "xs": xs, "ys": ys, "epochs": epochs,
                "frames": frames.reshape(len(epochs), BOUNDARY_POINTS, BOUNDARY_POINTS),
                "classes": int(proba.shape[-1])}
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 120)
    with np.errstate(all="ignore"):
        curves = np.stack([mlp.predict(w, xs[:, None]) for w in weights])
    return {"kind": "curve", "xs": xs, "epochs": epochs, "frames": curves.astype(np.float32)}


def boundary_figure(result: NetworkResult, X, y, *, title: str, uirevision: str) -> go.Figure:
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
    else:
        traces.append(go.Scatter(x=figures.f32(X[:, 0]), y=figures.f32(y), mode="markers",
                                 marker=dict(size=7, color="#555"), name="data", hoverinfo="skip"))
        traces.append(go.Scatter(
            x=figures.f32(b["xs"]), y=b["frames"][-1], mode="lines", name="network's fit",
            line=dict(color=figures.RUN_COLORS[0], width=4),
            meta={**frames_meta, "frames": b["frames"]}))
        xaxis, yaxis = "x", "y"
    layout = dict(
        uirevision=uirevision, font=figures.FONT, margin=dict(l=45, r=10, t=34, b=40),
        title=dict(text=title, x=0.02, y=0.98, font=dict(size=15)),
        xaxis=dict(title=xaxis), yaxis=dict(title=yaxis), showlegend=False,
        paper_bgcolor="white", plot_bgcolor="white")
    return go.Figure(data=traces, layout=layout)
