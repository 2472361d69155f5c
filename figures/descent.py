"""Pure figure builders: a surface grid and runs in, Plotly figures out (no Streamlit, no gradients).

Every trace that the browser animates carries a `meta` role: "path" traces hold a run's whole
trajectory and are shown up to the current epoch; "head" traces mark a run's current point;
the "click" trace marks the contour map as the figure whose clicks set the start point. Arrays are float32, which Plotly sends as compact typed arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

# Okabe–Ito colours, safe for colour-blind viewers; a single run is blue.
RUN_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#56B4E9")
# Light at the bottom, dark at the top: the dots stand out best near the minima. Ivory to
# khaki to olive, a hue no run colour has: every run colour is at least CIEDE2000 ΔE 25 from
# every colour of this scale (tests/test_colours.py).
SURFACE_COLORSCALE = [[0.0, "#fffff2"], [0.5, "#e4d48e"], [1.0, "#998b3c"]]
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=15, color="#111827")
AXIS_TICKS = dict(size=12)
UIREVISION_PREFIX = "descent-lab:"


@dataclass(frozen=True)
class RunView:
    """What the figures need of one run."""

    label: str
    color: str
    params: np.ndarray  # (epochs+1, 2)
    loss: np.ndarray  # (epochs+1,)
    status: str
    diverged_epoch: int | None = None
    steps: np.ndarray | None = None  # (m, 2) weights after every mini-batch step, or None
    step_loss: np.ndarray | None = None  # (m,) the loss there
    evals: np.ndarray | None = None  # (epochs+1,) gradient evaluations so far at each epoch
    averaged: np.ndarray | None = None  # (epochs+1, 2) ASGD's averaged weights ax, or None
    averaged_loss: np.ndarray | None = None  # (epochs+1,) the loss at ax
    probes: np.ndarray | None = None  # (m, 2) every point L-BFGS evaluated, or None
    probe_loss: np.ndarray | None = None  # (m,) the mini-batch loss there


@dataclass(frozen=True)
class Grid:
    """The loss over a plotting grid: Z[i, j] is the loss at (xs[j], ys[i])."""

    xs: np.ndarray
    ys: np.ndarray
    Z: np.ndarray


def height(loss, floor: float, log: bool) -> np.ndarray:
    """Height (and colour) of a loss on the plots: the loss itself, or log10(1 + loss − floor)
    when the loss spans decades. `floor` is the lowest loss on the grid."""
    loss = np.asarray(loss, dtype=np.float64)
    if not log:
        return loss
    with np.errstate(all="ignore"):
        return np.log10(1.0 + np.maximum(loss - floor, 0.0))


def f32(a) -> np.ndarray:
    """float32 for the wire; values beyond float32's range (a diverging run) become gaps."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(a, dtype=np.float32)
    return np.where(np.isfinite(out), out, np.float32(np.nan))


def _height_range(grid: Grid, log: bool) -> tuple[float, float, float]:
    finite = grid.Z[np.isfinite(grid.Z)]
    floor = float(finite.min()) if finite.size else 0.0
    h = height(finite, floor, log)
    return floor, float(h.min()) if h.size else 0.0, float(h.max()) if h.size else 1.0


def _inside(params: np.ndarray, grid: Grid) -> np.ndarray:
    x, y = params[:, 0], params[:, 1]
    with np.errstate(invalid="ignore"):
        return (np.isfinite(x) & np.isfinite(y) & (x >= grid.xs[0]) & (x <= grid.xs[-1])
                & (y >= grid.ys[0]) & (y <= grid.ys[-1]))


def _path_xy(run: RunView, grid: Grid, params: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of a run's path (or of `params`) with points off the plotted box blanked (NaN), so a
    diverging run leaves the picture instead of stretching it."""
    params = run.params if params is None else params
    inside = _inside(params, grid)
    x = np.where(inside, params[:, 0], np.nan)
    y = np.where(inside, params[:, 1], np.nan)
    return x, y, inside


STEP_DOT_OPACITY = 0.5


def overlap_scale(r: int) -> float:
    """Dot size of run r against the first run's: each later run is drawn over the earlier ones,
    a little smaller, so where two paths coincide (the schedule lesson's runs share their first
    steps) the one underneath still shows as a ring."""
    return max(0.6, 1.0 - 0.2 * r)


def _step_dots(run: RunView, r: int, grid: Grid, z=None, size: int = 3):
    """The mini-batch steps between a run's epoch dots: small, lighter dots in its colour, drawn
    whole (role "steps": the view does not animate them per epoch)."""
    x, y, inside = _path_xy(run, grid, run.steps)
    common = dict(mode="markers", name=f"{run.label} steps", showlegend=False,
                  marker=dict(size=size, color=run.color, opacity=STEP_DOT_OPACITY, line=dict(width=0)),
                  meta={"role": "steps", "run": r}, hoverinfo="skip")
    if z is None:
        return go.Scatter(x=f32(x), y=f32(y), **common)
    return go.Scatter3d(x=f32(x), y=f32(y), z=f32(np.where(inside, z, np.nan)), **common)


def _averaged_path(run: RunView, r: int, grid: Grid, z=None):
    """ASGD's averaged weights ax, epoch by epoch: a dashed line in the run's colour, drawn whole
    (role "averaged", not animated)."""
    x, y, inside = _path_xy(run, grid, run.averaged)
    common = dict(mode="lines", name=f"{run.label} averaged (ax)", showlegend=False,
                  line=dict(color=run.color, width=3, dash="dash"), meta={"role": "averaged", "run": r},
                  hovertemplate=f"{run.label} averaged<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>")
    if z is None:
        return go.Scatter(x=f32(x), y=f32(y), **common)
    return go.Scatter3d(x=f32(x), y=f32(y), z=f32(np.where(inside, z, np.nan)), **common)


def _probe_marks(run: RunView, r: int, grid: Grid, z=None, size: int = 6):
    """Every point L-BFGS evaluated the loss at (its line-search probes): small crosses in the
    run's colour, drawn whole (role "probes")."""
    x, y, inside = _path_xy(run, grid, run.probes)
    common = dict(mode="markers", name=f"{run.label} probes", showlegend=False,
                  marker=dict(symbol="x", size=size, color=run.color, opacity=0.7, line=dict(width=0)),
                  meta={"role": "probes", "run": r},
                  hovertemplate=f"{run.label}: loss evaluated at<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>")
    if z is None:
        return go.Scatter(x=f32(x), y=f32(y), **common)
    return go.Scatter3d(x=f32(x), y=f32(y), z=f32(np.where(inside, z, np.nan)), **common)


def _height_at(grid: Grid, points: np.ndarray, floor: float, log: bool, hmin: float,
               hmax: float) -> np.ndarray:
    """The plotted height of the surface at `points` (m, 2), bilinear between grid nodes."""
    xs, ys = np.asarray(grid.xs, dtype=np.float64), np.asarray(grid.ys, dtype=np.float64)
    with np.errstate(all="ignore"):
        H = height(grid.Z, floor, log)
    out = []
    for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2):
        j = int(np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2))
        i = int(np.clip(np.searchsorted(ys, y) - 1, 0, len(ys) - 2))
        tx = float(np.clip((x - xs[j]) / (xs[j + 1] - xs[j]), 0, 1))
        ty = float(np.clip((y - ys[i]) / (ys[i + 1] - ys[i]), 0, 1))
        corners = H[i:i + 2, j:j + 2]
        if not np.all(np.isfinite(corners)):
            out.append(hmin)
            continue
        out.append((1 - ty) * ((1 - tx) * corners[0, 0] + tx * corners[0, 1])
                   + ty * ((1 - tx) * corners[1, 0] + tx * corners[1, 1]))
    return np.clip(np.array(out, dtype=np.float64), hmin, hmax)


def inner_ticks(lo: float, hi: float, margin: float = 0.04) -> list[float]:
    """Round tick values at least `margin` of the span inside (lo, hi): three or four at a step
    of 1, 2 or 5 times a power of ten (2.5 if none fits), else the coarsest step giving three."""
    lo, hi = float(lo), float(hi)
    span = hi - lo
    if not (np.isfinite(span) and span > 0):
        return []
    inside = (lo + margin * span, hi - margin * span)
    power = 10.0 ** np.floor(np.log10(span))
    steps = power * np.array([5, 2, 1, 0.5, 0.2, 0.1, 0.05, 2.5, 0.25])  # 2.5 only if need be
    counts = [np.floor(inside[1] / step) - np.ceil(inside[0] / step) + 1 for step in steps]
    fits = [step for step, n in zip(steps, counts) if 3 <= n <= 4]
    many = [step for step, n in zip(steps, counts) if n >= 3]
    if not (fits or many):
        return []
    step = fits[0] if fits else max(many)
    digits = max(0, int(-np.floor(np.log10(step))) + 2)
    return [float(round(k * step, digits)) + 0.0
            for k in np.arange(np.ceil(inside[0] / step), np.floor(inside[1] / step) + 1)]


def surface_3d(grid: Grid, runs: list[RunView], minima: np.ndarray, *, log: bool,
               uirevision: str, title: str = "", point_size: int = 6,
               axis_names: tuple[str, str] = ("w1", "w2")) -> go.Figure:
    """The loss surface in 3D with each run's path as dots, one per epoch, joined by a thin line.

    The height range is fixed by the grid alone: diverged points are clipped to the top of the
    box (and blanked outside it), so they never blow up the picture."""
    floor, hmin, hmax = _height_range(grid, log)
    lift = 0.012 * (hmax - hmin or 1.0)  # dots ride just above the surface so it cannot hide them
    # Traces and layout go to the constructor at once: fig.update_layout costs ~10× more.
    traces = []
    traces.append(go.Surface(
        x=f32(grid.xs), y=f32(grid.ys), z=f32(height(grid.Z, floor, log)),
        colorscale=SURFACE_COLORSCALE, showscale=False, opacity=0.88,
        contours=dict(z=dict(show=True, usecolormap=False, color="rgba(60,40,20,0.35)",
                             width=1, start=hmin, end=hmax, size=(hmax - hmin) / 14 or 1)),
        lighting=dict(ambient=0.75, diffuse=0.5, specular=0.05, roughness=0.9),
        hoverinfo="skip", name="loss surface", showlegend=False,
    ))
    if len(minima):
        # each at the surface's height there (bilinear on the grid), lifted like the dots: at the
        # grid's lowest height, three of Himmelblau's four minima were under the surface
        mz = _height_at(grid, minima, floor, log, hmin, hmax) + 2 * lift
        # A pin up from each: a minimum at the bottom of a narrow pit is hidden by the pit's walls
        # from most camera angles, its pin is not.
        top = mz + 0.25 * (hmax - hmin or 1.0)
        px = np.column_stack([minima[:, 0], minima[:, 0], np.full(len(minima), np.nan)]).ravel()
        py = np.column_stack([minima[:, 1], minima[:, 1], np.full(len(minima), np.nan)]).ravel()
        pz = np.column_stack([mz, top, np.full(len(minima), np.nan)]).ravel()
        traces.append(go.Scatter3d(
            x=f32(px), y=f32(py), z=f32(pz), mode="lines", line=dict(color="#111827", width=3),
            name="minimum pin", showlegend=False, hoverinfo="skip"))
        traces.append(go.Scatter3d(
            x=f32(minima[:, 0]), y=f32(minima[:, 1]), z=f32(top), mode="markers",
            marker=dict(symbol="diamond", size=4, color="#111827"), name="minimum top",
            showlegend=False, hovertemplate="minimum (%{x:.3g}, %{y:.3g})<extra></extra>"))
        traces.append(go.Scatter3d(
            x=f32(minima[:, 0]), y=f32(minima[:, 1]), z=f32(mz), mode="markers",
            marker=dict(symbol="diamond", size=5, color="#111827"), name="minimum",
            showlegend=False, hovertemplate="minimum (%{x:.3g}, %{y:.3g})<extra></extra>"))
    for r, run in enumerate(runs):
        x, y, inside = _path_xy(run, grid)
        with np.errstate(all="ignore"):
            z = np.clip(height(run.loss, floor, log), hmin, hmax) + lift
        z = np.where(inside & np.isfinite(z), z, np.nan)
        traces.append(go.Scatter3d(
            x=f32(x), y=f32(y), z=f32(z), mode="lines+markers", name=run.label,
            line=dict(color=run.color, width=2),
            marker=dict(size=point_size * overlap_scale(r), color=run.color, line=dict(width=0)),
            meta={"role": "path", "run": r}, showlegend=len(runs) > 1,
            hovertemplate=f"{run.label}<br>{axis_names[0]}=%{{x:.4g}}<br>{axis_names[1]}=%{{y:.4g}}<extra></extra>"))
        if run.steps is not None and run.step_loss is not None and len(run.steps):
            with np.errstate(all="ignore"):
                step_z = np.clip(height(run.step_loss, floor, log), hmin, hmax) + lift
            traces.append(_step_dots(run, r, grid, z=step_z,
                                     size=max(2, point_size // 2) * overlap_scale(r)))
        if run.averaged is not None and run.averaged_loss is not None:
            with np.errstate(all="ignore"):
                avg_z = np.clip(height(run.averaged_loss, floor, log), hmin, hmax) + lift
            traces.append(_averaged_path(run, r, grid, z=avg_z))
        if run.probes is not None and run.probe_loss is not None and len(run.probes):
            with np.errstate(all="ignore"):
                probe_z = np.clip(height(run.probe_loss, floor, log), hmin, hmax) + lift
            traces.append(_probe_marks(run, r, grid, z=probe_z, size=max(2, point_size - 1)))
        traces.append(go.Scatter3d(
            x=f32(x[:1]), y=f32(y[:1]), z=f32(z[:1]), mode="markers", showlegend=False,
            marker=dict(size=(point_size + 4) * overlap_scale(r), color=run.color,
                        line=dict(color="#111827", width=2)),
            meta={"role": "head", "run": r}, hoverinfo="skip", name=f"{run.label} now"))
    (x0, x1), (y0, y1) = (grid.xs[0], grid.xs[-1]), (grid.ys[0], grid.ys[-1])
    ztitle = "log loss" if log else "loss"
    layout = dict(
        uirevision=uirevision, font=FONT, margin=dict(l=0, r=0, t=30 if title else 0, b=0),
        title=dict(text=title, x=0.02, y=0.98, font=dict(size=16)) if title else None,
        legend=dict(x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.8)", font=dict(size=15)),
        scene=dict(
            # Few ticks, so that labels on a projector do not run into each other or the titles.
            # Ticks only inside the box: the height's title stands at a corner of the box, where
            # a corner tick (the bowl's w1 = −5) ran into it.
            xaxis=dict(title=axis_names[0], range=[float(x0), float(x1)], tickvals=inner_ticks(x0, x1),
                       tickfont=AXIS_TICKS),
            yaxis=dict(title=axis_names[1], range=[float(y0), float(y1)], tickvals=inner_ticks(y0, y1),
                       tickfont=AXIS_TICKS),
            # The height's numbers sit at the corner where w1's and w2's meet, and collide with
            # them: the loss curve gives the numbers, the 3D view the shape.
            zaxis=dict(title=ztitle, range=[hmin, hmax + 2 * lift], nticks=3, tickfont=AXIS_TICKS,
                       showticklabels=False),
            aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.5),
            # From high up: the path lies in valleys that a low view would hide; far enough that
            # the box with its tick labels and titles fits the view.
            camera=dict(eye=dict(x=0.62, y=-1.3, z=1.55), center=dict(x=0, y=0, z=-0.2)),
        ),
        paper_bgcolor="white",
    )
    return go.Figure(data=traces, layout=layout)


def contour_map(grid: Grid, runs: list[RunView], minima: np.ndarray, start, *, log: bool,
                uirevision: str, axis_names: tuple[str, str] = ("w1", "w2")) -> go.Figure:
    """Top view: filled contours, each run's path, the start and the known minima. A grid of
    nearly invisible points turns a click anywhere into a new start point."""
    floor, hmin, hmax = _height_range(grid, log)
    traces = []
    traces.append(go.Contour(
        x=f32(grid.xs), y=f32(grid.ys), z=f32(height(grid.Z, floor, log)),
        colorscale=SURFACE_COLORSCALE, showscale=False, ncontours=22,
        contours=dict(coloring="fill", showlines=True), line=dict(width=0.6, color="rgba(60,40,20,0.45)"),
        hoverinfo="skip", name="loss"))
    # The browser component catches clicks on the whole plot area of a figure that has this
    # trace; its two points, the box's corners, are never drawn there.
    traces.append(go.Scatter(
        x=f32([grid.xs[0], grid.xs[-1]]), y=f32([grid.ys[0], grid.ys[-1]]), mode="markers",
        marker=dict(size=12, color="rgba(0,0,0,0.004)"), meta={"role": "click"},
        hovertemplate="start here: (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False,
        name="click to start"))
    if len(minima):
        traces.append(go.Scatter(
            x=f32(minima[:, 0]), y=f32(minima[:, 1]), mode="markers", name="minimum",
            marker=dict(symbol="star", size=15, color="white", line=dict(color="#111827", width=1.5)),
            hovertemplate="minimum (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False))
    for r, run in enumerate(runs):
        x, y, _ = _path_xy(run, grid)
        traces.append(go.Scatter(
            x=f32(x), y=f32(y), mode="lines+markers", name=run.label,
            line=dict(color=run.color, width=1.5), marker=dict(size=6 * overlap_scale(r), color=run.color),
            meta={"role": "path", "run": r}, showlegend=False,
            hovertemplate=f"{run.label}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>"))
        if run.steps is not None and len(run.steps):
            traces.append(_step_dots(run, r, grid, size=4 * overlap_scale(r)))
        if run.averaged is not None:
            traces.append(_averaged_path(run, r, grid))
        if run.probes is not None and len(run.probes):
            traces.append(_probe_marks(run, r, grid))
        traces.append(go.Scatter(
            x=f32(x[:1]), y=f32(y[:1]), mode="markers", showlegend=False, hoverinfo="skip",
            marker=dict(size=13 * overlap_scale(r), color=run.color, line=dict(color="white", width=2)),
            meta={"role": "head", "run": r}, name=f"{run.label} now"))
    traces.append(go.Scatter(
        x=f32([start[0]]), y=f32([start[1]]), mode="markers", name="start",
        marker=dict(symbol="circle-open", size=18, color="#111827", line=dict(width=3)),
        hovertemplate="start (%{x:.3g}, %{y:.3g})<extra></extra>", showlegend=False))
    xaxis, yaxis, annotations = equal_scale_axes(
        dict(title=axis_names[0], range=[float(grid.xs[0]), float(grid.xs[-1])]),
        dict(title=axis_names[1], range=[float(grid.ys[0]), float(grid.ys[-1])]))
    layout = dict(
        uirevision=uirevision, font=FONT, margin=dict(l=55, r=10, t=10, b=45),
        xaxis=xaxis, yaxis=yaxis, annotations=annotations,
        hovermode="closest", dragmode="zoom", paper_bgcolor="white", plot_bgcolor="white",
    )
    return go.Figure(data=traces, layout=layout)


MAX_TO_SCALE = 4.0  # a map whose box is longer than this on one side is drawn stretched
NOT_TO_SCALE = "axes not to scale"
MAX_TALL = 1.5  # a map box taller than wide by more than this has its w1 drawn stretched


def equal_scale_axes(xaxis: dict, yaxis: dict) -> tuple[dict, dict, list]:
    """A map's axes at equal scale (one unit of w1 as long on screen as one unit of w2), so
    that a narrow valley looks narrow; a box more than 4:1 would be a sliver, so it is stretched
    to fill the plot instead, and a note on the map says "axes not to scale"."""
    (x0, x1), (y0, y1) = xaxis["range"], yaxis["range"]
    ratio = abs(x1 - x0) / max(abs(y1 - y0), 1e-300)
    tall = 1 / max(ratio, 1e-300)
    if MAX_TALL < tall <= MAX_TO_SCALE:
        # No map panel is taller than wide: an uploaded line's box (w −2..6, b −15..15) was a
        # strip a quarter of the panel wide. Its w is stretched by a round factor to a box no
        # taller than wide, and the map says so, as presenter mode does for wide boxes.
        stretch = float(np.ceil(2 * tall) / 2)
        note = dict(text=f"{(xaxis.get('title') or 'w1')} drawn ×{stretch:g}", xref="paper",
                    yref="paper", x=1, y=1, xanchor="right", yanchor="top", showarrow=False,
                    bgcolor="rgba(255,255,255,0.8)", font=dict(size=13, color="#111827"),
                    name="stretch")
        return ({**xaxis, "constrain": "domain"},
                {**yaxis, "scaleanchor": "x", "scaleratio": 1 / stretch, "constrain": "domain"},
                [note])
    if max(ratio, tall) <= MAX_TO_SCALE:
        return ({**xaxis, "constrain": "domain"},
                {**yaxis, "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"}, [])
    note = dict(text=NOT_TO_SCALE, xref="paper", yref="paper", x=1, y=1, xanchor="right",
                yanchor="top", showarrow=False, bgcolor="rgba(255,255,255,0.8)",
                font=dict(size=13, color="#111827"))
    return xaxis, yaxis, [note]


# The loss curve's x-axis in gradient evaluations: one per optimizer step for the gradient-only
# rules (so ⌈n/batch⌉ per epoch), every loss-and-gradient evaluation (closure call) for L-BFGS.
EVALS_TITLE = "gradient evaluations"


def uses_evals_axis(runs: list[RunView]) -> bool:
    """The rule: the loss curve counts gradient evaluations when some run evaluates more than
    once in a step (L-BFGS), epochs otherwise; then every run is drawn against its own count."""
    return any(run.evals is not None and len(run.evals) > 1
               and np.any(np.diff(run.evals) > _steps_per_epoch(run)) for run in runs) and all(
        run.evals is not None for run in runs)


def _steps_per_epoch(run: RunView) -> int:
    """Optimizer steps in one epoch: one on the full batch; with mini-batches, as many as its
    step dots say (a mini-batch SGD run evaluates once a step, and is no L-BFGS: the schedule
    and mini-batch lessons' loss curves were drawn against gradient evaluations)."""
    epochs = len(run.loss) - 1
    if run.steps is None or epochs < 1:
        return 1
    return max(1, len(run.steps) // epochs)


def loss_curve(runs: list[RunView], minimum_loss: float, *, uirevision: str,
               tolerance: float | None = None, bottom: float | None = None,
               x_axis: str = "auto") -> go.Figure:
    """Loss against epoch, one line per run. The y axis turns logarithmic when the losses span
    more than two decades; it then shows the loss above the best minimum. With a `tolerance`
    and a known minimum, a dotted line (named in the legend) marks "within tolerance of the
    minimum": where a curve crosses it, that run has got there, and the axis always reaches it.
    `bottom` (a surface with no minimum: its lowest plotted loss) is where the axis stops below;
    lower losses, off the map, are drawn there. It does not depend on the learning rate, so the
    view can swap paths under it."""
    losses = [run.loss for run in runs]
    axis = _axis(losses, minimum_loss, bottom)
    level = tolerance_level(losses, minimum_loss, tolerance)
    traces, shapes = [], []
    drawn = []
    by_evals = x_axis == "evals" or (x_axis == "auto" and uses_evals_axis(runs))
    xname = "evaluation" if by_evals else "epoch"
    for r, run in enumerate(runs):
        epochs = (np.asarray(run.evals, dtype=np.float32) if by_evals
                  else np.arange(len(run.loss), dtype=np.float32))
        y = axis.plotted(run.loss)
        drawn.append(y)
        traces.append(go.Scatter(
            x=epochs, y=f32(y), mode="lines", name=run.label, line=dict(color=run.color, width=3),
            meta={"role": "path", "run": r},
            hovertemplate=f"{run.label}<br>{xname} %{{x}}<br>%{{y:.4g}}<extra></extra>"))
        traces.append(go.Scatter(
            x=epochs[:1], y=f32(y[:1]), mode="markers", showlegend=False, hoverinfo="skip",
            marker=dict(size=10, color=run.color, line=dict(color="white", width=1.5)),
            meta={"role": "head", "run": r}, name=f"{run.label} now"))
        if run.diverged_epoch is not None:
            at = float(epochs[run.diverged_epoch]) if run.diverged_epoch < len(epochs) else run.diverged_epoch
            shapes.append(dict(type="line", xref="x", yref="paper", x0=at, x1=at, y0=0, y1=1,
                               line=dict(color=run.color, dash="dot", width=2)))
    if level is not None:
        # A dotted line across the plot, named in the legend (a label on the plot would cover
        # the curves or the epoch marks).
        last = max((len(run.loss) - 1 if not by_evals else int(run.evals[-1]) for run in runs), default=1)
        traces.append(go.Scatter(
            x=[0, max(last, 1)], y=[level, level], mode="lines", name=f"within {tolerance:g} of the minimum",
            line=dict(color="#111827", dash="dot", width=1.5), meta={"role": "tolerance"},
            hoverinfo="skip", showlegend=True))
    ytitle = "loss" if axis.shift == 0.0 else "loss − min"
    max_epoch = max((len(run.loss) - 1 if not by_evals else int(run.evals[-1]) for run in runs), default=1)
    yrange = axis.range(drawn, level)
    layout = dict(
        uirevision=uirevision, font=FONT, margin=dict(l=70, r=10, t=10, b=45),
        xaxis=dict(title=EVALS_TITLE if by_evals else "epoch", range=[0, max(max_epoch, 1)], tickformat="d",
                   **epoch_ticks(max_epoch)),
        yaxis=dict(title=ytitle, type="log" if axis.log else "linear", exponentformat="power",
                   # log axis: a label per decade (or per few), never the 2s and 5s between,
                   # and always one at 10⁻³, where "within 0.001 of the minimum" lies
                   dtick=log_dtick(axis.spanned(level)) if axis.log else None,
                   tick0=axis.tick0(level),
                   range=yrange, autorange=yrange is None),
        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
        showlegend=len(runs) > 1 or level is not None,
        paper_bgcolor="white", plot_bgcolor="#f7f8fa", shapes=shapes,
        annotations=[], meta={"decades": float(axis.spanned(level))},
    )
    return go.Figure(data=traces, layout=layout)


# A run whose loss climbs this many times above its start is running away (diverging); beside
# a run that does not, the axis is fitted to the runs that stay, so their descent can be read.
RUNAWAY = 1e3


@dataclass(frozen=True)
class LossAxis:
    """The loss axis of a set of runs: what is plotted is min(loss − shift, ceiling), not below
    `bottom`; on a log axis a value at or below 0 (an exact hit of the minimum, or one that
    float32 rounds to it) is drawn at `zero`, a decade below the lowest positive value."""

    floor: float
    ceiling: float
    gap: np.ndarray  # every finite value as plotted (before the zero level)
    log: bool
    shift: float
    decades: float
    bottom: float | None
    zero: float | None

    def spanned(self, include: float | None = None) -> float:
        """Decades the log axis spans, with a level it must also reach (the tolerance line)."""
        if not self.log or include is None or not include > 0:
            return self.decades
        positive = self.gap[self.gap > 0]
        high = max(float(np.log10(positive.max())), float(np.log10(include)))
        low = min(float(np.log10(self.zero if self.zero is not None else positive.min())),
                  float(np.log10(include)))
        return high - low

    def tick0(self, include: float | None = None) -> float | None:
        """Where the log axis's labels start: at 10⁻³, the tolerance, when the axis reaches it
        (with `include`, the level it must reach); else at the lowest whole decade on it (a fixed
        10⁻³ left a run far above it one label)."""
        if not self.log:
            return None
        positive = self.gap[self.gap > 0]
        low = float(np.log10(self.zero if self.zero is not None else positive.min()))
        high = float(np.log10(positive.max()))
        if include is not None and include > 0:
            low, high = min(low, float(np.log10(include))), max(high, float(np.log10(include)))
        return -3 if low <= -3 <= high else float(np.ceil(low))

    def plotted(self, loss) -> np.ndarray:
        with np.errstate(all="ignore"):
            loss = np.asarray(loss, dtype=np.float64)
            y = np.where(np.isfinite(loss), np.minimum(loss - self.shift, self.ceiling), np.nan)
            if self.bottom is not None:
                y = np.where(np.isfinite(y), np.maximum(y, self.bottom), np.nan)
            if self.log:
                # float32 on the wire: anything below its smallest normal number would be 0
                y = np.where(y > 0, np.maximum(y, F32_TINY), np.where(np.isfinite(y), self.zero, np.nan))
        return y

    def range(self, drawn: list, include: float | None = None) -> list[float] | None:
        """The y range over the drawn values and `include`, padded 5% (as the view does)."""
        values = [np.asarray(y, dtype=np.float64) for y in drawn]
        v = np.concatenate(values) if values else np.zeros(0)
        v = v[np.isfinite(v)]
        if include is not None:
            v = np.append(v, include)
        if self.log:
            v = np.log10(v[v > 0])
        if not v.size:
            return None
        lo, hi = float(v.min()), float(v.max())
        pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 0.5
        return [lo - pad, hi + pad]


F32_TINY = float(np.finfo(np.float32).tiny)


def _axis(losses, minimum_loss: float, bottom: float | None = None) -> LossAxis:
    floor = float(minimum_loss) if np.isfinite(minimum_loss) else 0.0
    losses = [np.asarray(l, dtype=np.float64) for l in losses]
    # A diverging run's losses climb to 1e30 and beyond; the axis stops at a million times the
    # highest starting loss, and what lies above is drawn at that ceiling. Beside a run that
    # stays, it stops at twice that run's highest loss instead (the clipping lesson's clipped
    # run, 12.5 down to 4.9, would read as flat under an axis up to 10⁷).
    starts = [float(l[0]) - floor for l in losses if len(l) and np.isfinite(l[0])]
    ceiling = 1e6 * max(max(starts, default=1.0), 1e-12)
    finite = [l[np.isfinite(l)] - floor for l in losses]
    tame = [g for g, l in zip(finite, losses) if g.size and len(l) and np.isfinite(l[0])
            and g.max() <= RUNAWAY * max(float(l[0]) - floor, 1e-12) and np.all(np.isfinite(l))]
    if tame and len(tame) < len(losses):
        top = max(float(g.max()) for g in tame)
        if top > 0:
            ceiling = min(ceiling, 2.0 * top)
    values = np.concatenate(finite) if finite else np.zeros(0)
    gap = np.minimum(values, ceiling)
    low = None if bottom is None or not np.isfinite(bottom) else float(bottom) - floor
    if low is not None:
        gap = np.maximum(gap, low)
    positive = gap[gap > 0]
    # Log only when every value can be drawn on it: a loss that goes negative (a surface with no
    # minimum, such as the saddle) keeps a linear axis rather than vanishing from the plot. An
    # exact hit of the minimum (0) is drawn at the zero level, a decade below the lowest value.
    use_log = bool(positive.size and np.all(gap >= 0)
                   and positive.max() / max(positive.min(), 1e-300) > 100)
    shift = floor if (use_log or floor != 0.0) else 0.0
    zero = None
    decades = 0.0
    if use_log:
        lowest = max(float(positive.min()), F32_TINY)
        zero = lowest / 10 if positive.size < gap.size else lowest
        decades = float(np.log10(positive.max()) - np.log10(zero))
    return LossAxis(floor, ceiling, gap, use_log, shift, decades,
                    None if low is None else low + floor - shift, zero)


def loss_axis_rule(losses, minimum_loss: float, bottom: float | None = None):
    """The loss axis's rule, shared by loss_curve and the view's per-η axis: (floor, ceiling,
    the finite losses above the floor capped at the ceiling, log?, shift, decades spanned)."""
    a = _axis(losses, minimum_loss, bottom)
    return a.floor, a.ceiling, a.gap, a.log, a.shift, a.decades


def tolerance_level(losses, minimum_loss: float, tolerance: float | None) -> float | None:
    """Where the dotted "within tolerance of the minimum" line lies on the plotted scale
    (loss − min), or None when it is not drawn: no tolerance, no known minimum, or no run within
    ten times of it (the axis is then stretched to reach it, so it must be worth the room)."""
    if tolerance is None or not np.isfinite(minimum_loss):
        return None
    gaps = [np.asarray(l, dtype=np.float64) - float(minimum_loss) for l in losses]
    gaps = [g[np.isfinite(g)] for g in gaps]
    gaps = np.concatenate(gaps) if gaps else np.zeros(0)
    if not gaps.size or float(np.min(gaps)) > 10 * tolerance:
        return None
    return float(tolerance)


def view_loss_axis(losses, minimum_loss: float, *, presenter: bool = False,
                   bottom: float | None = None, include: float | None = None) -> dict:
    """The view's loss axis for one η stop (assets/descent_view: `at` and `lossLayout`), by the
    same rule as loss_curve: type, shift, ceiling, bottom, zero level, title, ticks, and a
    level the range must reach (the tolerance line, when the figure draws it)."""
    a = _axis(losses, minimum_loss, bottom)
    return {"log": a.log, "shift": a.shift, "ceiling": a.ceiling, "bottom": a.bottom,
            "zero": a.zero, "include": include,
            "title": "loss" if a.shift == 0.0 else "loss − min",
            "dtick": log_dtick(a.spanned(include), presenter) if a.log else None,
            "tick0": a.tick0(include)}


def log_dtick(decades: float, presenter: bool = False) -> int:
    """Decades between labels of a log loss axis spanning `decades`. Labels keep at least one
    label height between them: the loss plot's area is only about 65–80 px tall at 1280×720 (in
    presenter mode's 19 px type and at the normal 15 px alike), so two labels at most, at least
    3/4 of the axis apart (`presenter` is kept for the callers; the rule is the same)."""
    return max(1, int(np.ceil(0.75 * decades)))


def epoch_ticks(max_epoch: int) -> dict:
    """Whole-number epoch ticks: Plotly puts ticks at 0.5, 1.5 on a short axis, so up to 10
    epochs the step is set (1, or 2 above 6); longer axes get Plotly's own whole steps."""
    if max_epoch <= 6:
        return dict(tick0=0, dtick=1)
    if max_epoch <= 10:
        return dict(tick0=0, dtick=2)
    return {}


# In presenter mode the map shares a 1280×720 screen with the 3D view: a box more than this much
# wider than tall, drawn to scale, was a 280×110 strip (the bowl's 10 × 4). Its w2 is stretched
# by a round factor instead, and the map says so.
PRESENTER_MAX_ASPECT = 1.5


def _presenter_map_shape(fig: go.Figure) -> None:
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    if xa is None or ya is None or ya.scaleanchor != "x" or not xa.range or not ya.range:
        return
    aspect = abs(xa.range[1] - xa.range[0]) / max(abs(ya.range[1] - ya.range[0]), 1e-300)
    if aspect <= PRESENTER_MAX_ASPECT:
        return
    stretch = float(np.ceil(2 * aspect / PRESENTER_MAX_ASPECT) / 2)  # ×1.5, ×2, ×2.5, …
    ya.scaleratio = stretch
    name = ya.title.text or "w2"
    fig.add_annotation(text=f"{name} drawn ×{stretch:g}", xref="paper", yref="paper", x=1, y=1,
                       xanchor="right", yanchor="top", showarrow=False,
                       bgcolor="rgba(255,255,255,0.8)", font=dict(size=15, color="#111827"),
                       name="stretch")


def for_presenter(fig: go.Figure) -> go.Figure:
    """Bigger type and dots for a projector (returns the same figure, changed)."""
    fig.layout.font.size = 19
    fig.layout.legend.font.size = 16
    if fig.layout.scene is None or fig.layout.scene.xaxis.title.text is None:  # 2-D: room for titles
        fig.layout.margin = dict(l=80, r=12, t=12, b=62)
    if fig.layout.yaxis is not None and fig.layout.yaxis.type == "log":
        # big type on a short plot: a label every third decade (10⁻³, 10⁰, …), more apart if need be
        decades = (fig.layout.meta or {}).get("decades", 0.0) if isinstance(fig.layout.meta, dict) else 0.0
        fig.layout.yaxis.dtick = log_dtick(decades, presenter=True)
    if isinstance(fig.layout.meta, dict) and "decades" in fig.layout.meta:
        # the loss plot is about 65 px tall on a 1280×720 projector: its numbers at 15 px keep
        # one label height between two labels (the view may turn the axis log per η)
        fig.layout.yaxis.tickfont = dict(size=15)
    _presenter_map_shape(fig)
    for annotation in fig.layout.annotations or ():
        if annotation.font.size:
            annotation.font.size = max(annotation.font.size, 15)
    if fig.layout.scene is not None:
        for axis in ("xaxis", "yaxis", "zaxis"):
            fig.layout.scene[axis].tickfont = dict(size=15)
    for trace in fig.data:
        role = (trace.meta or {}).get("role") if isinstance(trace.meta, dict) else None
        if role in ("path", "head") and getattr(trace, "marker", None) is not None and trace.marker.size:
            trace.marker.size = trace.marker.size * 1.6
        if role == "steps" and trace.marker.size:
            trace.marker.size = trace.marker.size * 1.3
        if role == "path" and getattr(trace, "line", None) is not None and trace.line.width:
            trace.line.width = trace.line.width * 1.5
    return fig
