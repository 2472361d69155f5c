"""Figure builders for exploring at scale: the learning-rate sweep, basin maps and the race table.

Pure functions of engine results (engine.sweep's SweepResult, BasinResult, RaceResult): data in,
Plotly figure or table rows out. No Streamlit, no gradients. Arrays go out as float32.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.descent import FONT, RUN_COLORS, f32

LIMIT_LABEL = "2/λ_max (plain GD)"
DIVERGED_COLOR = "#4d4d4d"  # dark grey
NOT_CONVERGED_COLOR = "#d9d9d9"  # light grey
ELSEWHERE_COLOR = "#9e9e9e"  # mid grey
# Okabe–Ito without black (kept for the greys' sake): one colour per minimum, colour-blind safe.
MINIMUM_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
DIVERGED_BAND = "rgba(77,77,77,0.10)"


def _pairs(per_optimizer_results):
    if isinstance(per_optimizer_results, dict):
        return list(per_optimizer_results.items())
    return [(label, result) for label, result in per_optimizer_results]


def _diverged(result) -> np.ndarray:
    return (np.asarray(result.status) == "diverged") | ~np.isfinite(result.final_loss)


def sweep_figure(lrs, per_optimizer_results, limit: float | None = None,
                 current: dict | None = None, presenter: bool = False) -> go.Figure:
    """Final loss (top) and epochs to the tolerance (bottom) against the learning rate, on log
    axes sharing x, one colour per optimizer in RUN_COLORS order.

    `per_optimizer_results` maps a label to a SweepResult (a dict, or (label, result) pairs).
    The top panel shows the final loss above the surface's minimum when that is known. A
    diverged run is a ✕ in the band at the top of the panel, and learning rates where every
    optimizer diverged are shaded. `limit`, when given, is drawn as a dashed vertical line
    labelled "2/λ_max (plain GD)". Every point carries its learning rate as customdata and each
    trace a meta {"role": "sweep" | "sweep-epochs" | "sweep-diverged", "optimizer": label}.
    `current` maps a label to the η that optimizer runs at in the views: a ring on its curve
    and a dotted vertical line labelled "now" mark it. `presenter`: type big enough for a
    projector.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    pairs = _pairs(per_optimizer_results)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.62, 0.38])
    minimum = next((r.minimum_loss for _, r in pairs if math.isfinite(r.minimum_loss)), math.nan)
    relative = math.isfinite(minimum)
    tol = pairs[0][1].tol if pairs else 0.0

    # The plotted loss: above the minimum (log axis), floored so an exact hit stays visible.
    heights = []
    for _, result in pairs:
        with np.errstate(all="ignore"):
            h = result.final_loss - minimum if relative else result.final_loss.copy()
        heights.append(np.where(_diverged(result), np.nan, h))
    finite = np.concatenate([h[np.isfinite(h)] for h in heights]) if heights else np.zeros(0)
    use_log = bool(finite.size) and (relative or bool(np.all(finite > 0)))
    floor = 1e-16
    if use_log:
        positive = np.maximum(finite, floor)
        top = 10 ** math.ceil(math.log10(positive.max()) + 0.5) if positive.size else 1.0
        bottom = 10 ** math.floor(math.log10(positive.min())) if positive.size else floor
        band = top * 3  # diverged markers sit in a band above every finite loss
        y_range = [math.log10(bottom) - 0.3, math.log10(band) + 0.4]
    else:
        hi = float(finite.max()) if finite.size else 1.0
        lo = float(finite.min()) if finite.size else 0.0
        band = hi + 0.15 * (hi - lo or 1.0)
        y_range = [lo - 0.05 * (hi - lo or 1.0), band + 0.1 * (hi - lo or 1.0)]

    for r, ((label, result), h) in enumerate(zip(pairs, heights)):
        color = RUN_COLORS[r % len(RUN_COLORS)]
        lr = np.asarray(result.lrs, dtype=np.float64)
        y = np.maximum(h, floor) if use_log else h
        hover_loss = "loss − minimum" if relative else "loss"
        fig.add_trace(go.Scatter(
            x=f32(lr), y=f32(y), customdata=lr, mode="lines+markers", name=label,
            legendgroup=label, line=dict(color=color, width=2.5), marker=dict(size=6, color=color),
            meta={"role": "sweep", "optimizer": label},
            hovertemplate=f"{label}<br>learning rate %{{customdata:.3g}}<br>final {hover_loss} "
                          f"%{{y:.3g}}<extra></extra>"), row=1, col=1)
        diverged = _diverged(result)
        fig.add_trace(go.Scatter(
            x=f32(lr[diverged]), y=f32(np.full(int(diverged.sum()), band)),
            customdata=lr[diverged], mode="markers", name=f"{label} diverged", legendgroup=label,
            showlegend=False, marker=dict(symbol="x-thin", size=10, color=color,
                                          line=dict(color=color, width=2.5)),
            meta={"role": "sweep-diverged", "optimizer": label},
            hovertemplate=f"{label}<br>learning rate %{{customdata:.3g}}<br>diverged"
                          f"<extra></extra>"), row=1, col=1)
        reached = np.where(result.epochs_to_tol >= 0, result.epochs_to_tol, -1).astype(np.float64)
        reached[reached < 0] = np.nan
        fig.add_trace(go.Scatter(
            x=f32(lr), y=f32(reached), customdata=lr, mode="lines+markers", name=label,
            legendgroup=label, showlegend=False, line=dict(color=color, width=2.5),
            marker=dict(size=6, color=color), meta={"role": "sweep-epochs", "optimizer": label},
            hovertemplate=f"{label}<br>learning rate %{{customdata:.3g}}<br>reached {tol:g} in "
                          f"%{{y:.0f}} epochs<extra></extra>"), row=2, col=1)

    # Shade the learning rates at which every optimizer diverged (geometric midpoints as edges).
    if pairs and len(lrs) > 1:
        # a sweep cut to fewer stops (a looped family) counts only at the stops it ran
        all_div = np.all([np.isin(lrs, np.asarray(result.lrs)[_diverged(result)])
                          for _, result in pairs], axis=0)
        edges = np.sqrt(lrs[1:] * lrs[:-1])
        edges = np.concatenate([[lrs[0] ** 2 / edges[0]], edges, [lrs[-1] ** 2 / edges[-1]]])
        i = 0
        while i < len(lrs):
            if all_div[i]:
                j = i
                while j + 1 < len(lrs) and all_div[j + 1]:
                    j += 1
                for row in (1, 2):
                    fig.add_vrect(x0=float(edges[i]), x1=float(edges[j + 1]), fillcolor=DIVERGED_BAND,
                                  line_width=0, layer="below", row=row, col=1)
                i = j + 1
            else:
                i += 1
        if all_div.any():
            fig.add_annotation(text="all diverge", xref="x domain", yref="y domain", x=1, y=1.0,
                               xanchor="right", yanchor="bottom", showarrow=False,
                               font=dict(size=12, color=DIVERGED_COLOR))

    if limit is not None and math.isfinite(limit) and limit > 0:
        for row in (1, 2):
            fig.add_vline(x=float(limit), line=dict(color="#111827", dash="dash", width=2),
                          row=row, col=1,
                          label=dict(text=LIMIT_LABEL, textposition="end", textangle=0,
                                     xanchor="left", yanchor="top",
                                     font=dict(size=12)) if row == 2 else None)

    for r, (label, result) in enumerate(pairs):
        lr_now = (current or {}).get(label)
        if lr_now is None or not len(result.lrs):
            continue
        color = RUN_COLORS[r % len(RUN_COLORS)]
        i = int(np.argmin(np.abs(np.log(np.asarray(result.lrs, dtype=np.float64)) - math.log(lr_now))))
        h = heights[r][i]
        y_now = band if not np.isfinite(h) else (max(h, floor) if use_log else h)
        fig.add_trace(go.Scatter(
            x=f32([lr_now]), y=f32([y_now]), customdata=[lr_now], mode="markers", showlegend=False,
            marker=dict(symbol="circle-open", size=18, color=color, line=dict(width=3, color=color)),
            meta={"role": "sweep-now", "optimizer": label}, name=f"{label} now",
            hovertemplate=f"{label} runs at η = %{{customdata:.3g}} in the views<extra></extra>"),
            row=1, col=1)
    for k, lr_now in enumerate(sorted(set((current or {}).values()))):
        fig.add_vline(x=float(lr_now), line=dict(color="#111827", dash="dot", width=1.5), row=1, col=1,
                      label=dict(text=f"now: η = {lr_now:g}", textposition="start", textangle=0,
                                 xanchor="left", yanchor="bottom", font=dict(size=16 if presenter else 12)))

    y_title = "final loss − minimum" if relative else "final loss"
    fig.update_xaxes(type="log", exponentformat="power", dtick=1, row=1, col=1)
    fig.update_xaxes(type="log", exponentformat="power", dtick=1, title_text="learning rate η", row=2, col=1)
    fig.update_yaxes(title_text=y_title, type="log" if use_log else "linear",
                     exponentformat="power", range=y_range, row=1, col=1)
    fig.update_yaxes(title_text=f"epochs to {tol:g}", rangemode="tozero", row=2, col=1)
    fig.add_annotation(text="✕ diverged", xref="x domain", yref="y domain", x=0, y=1.0,
                       xanchor="left", yanchor="bottom", showarrow=False,
                       font=dict(size=12, color=DIVERGED_COLOR))
    fig.update_layout(
        font=FONT, margin=dict(l=70, r=10, t=30, b=45), hovermode="closest",
        legend=dict(orientation="h", x=0, xanchor="left", y=1.04, yanchor="bottom"),
        paper_bgcolor="white", plot_bgcolor="#f7f8fa", uirevision="descent-lab:sweep",
    )
    return readable(fig, presenter)


TICKS = dict(size=14, color="#111827")
PRESENTER_TICKS = dict(size=18, color="#111827")


def readable(fig: go.Figure, presenter: bool) -> go.Figure:
    """Dark tick labels at a size a room can read (bigger in presenter mode); returns `fig`."""
    ticks = PRESENTER_TICKS if presenter else TICKS
    fig.update_xaxes(tickfont=ticks, title_font=dict(size=ticks["size"] + 2))
    fig.update_yaxes(tickfont=ticks, title_font=dict(size=ticks["size"] + 2))
    if presenter:
        fig.update_layout(font=dict(size=19), legend=dict(font=dict(size=17)))
        for annotation in fig.layout.annotations:
            annotation.font.size = max(annotation.font.size or 12, 16)
    return fig


def basin_categories(n_minima: int) -> list[tuple[str, str]]:
    """(name, colour) of every category of a basin map, in colour-scale order: each known
    minimum, then not converged, stopped elsewhere, diverged."""
    cats = [(f"minimum {i + 1}", MINIMUM_COLORS[i % len(MINIMUM_COLORS)]) for i in range(n_minima)]
    return cats + [("not converged", NOT_CONVERGED_COLOR), ("stopped elsewhere", ELSEWHERE_COLOR),
                   ("diverged", DIVERGED_COLOR)]


def _category(label: np.ndarray, n_minima: int) -> np.ndarray:
    """Map engine labels (minimum index, -1, -3, -2) to colour-scale positions 0..C−1."""
    cat = np.asarray(label, dtype=np.int64).copy()
    cat[label == -1] = n_minima
    cat[label == -3] = n_minima + 1
    cat[label == -2] = n_minima + 2
    return cat


def basin_figure(surface, basins_result, title: str = "", presenter: bool = False) -> go.Figure:
    """The start grid coloured by where each run ends: one colour per known minimum (marked as a
    star with its number), light grey for not converged, mid grey for stopped elsewhere (the
    gradient vanished away from every known minimum), dark grey for diverged. Hover shows the
    start, the end, the outcome and the epochs taken; a colour bar is the key."""
    b = basins_result
    minima = np.asarray(b.minima, dtype=np.float64).reshape(-1, 2)
    m = len(minima)
    cats = basin_categories(m)
    c = len(cats)
    scale = []
    for i, (_, color) in enumerate(cats):
        scale += [[i / c, color], [(i + 1) / c, color]]
    names = np.array([name for name, _ in cats], dtype=object)
    z = _category(b.label, m)
    end = np.asarray(b.end, dtype=np.float64)
    custom = np.stack([end[..., 0], end[..., 1], np.asarray(b.epochs_taken, dtype=np.float64)], -1)
    outcome = names[z]  # per-cell text, so the hover can name the outcome
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        x=f32(b.xs), y=f32(b.ys), z=z.astype(np.float32), zmin=-0.5, zmax=c - 0.5,
        colorscale=scale, customdata=f32(custom), text=outcome, meta={"role": "basins"},
        colorbar=dict(tickvals=list(range(c)), ticktext=[name for name, _ in cats], thickness=14,
                      len=0.9, outlinewidth=0,
                      tickfont=PRESENTER_TICKS if presenter else TICKS),
        hovertemplate="start (%{x:.3g}, %{y:.3g})<br>end (%{customdata[0]:.4g}, "
                      "%{customdata[1]:.4g})<br>%{text}<br>epochs: %{customdata[2]:.0f}"
                      "<extra></extra>",
        name="basins"))
    if m:
        fig.add_trace(go.Scatter(
            x=f32(minima[:, 0]), y=f32(minima[:, 1]), mode="markers+text",
            text=[str(i + 1) for i in range(m)], textposition="top center",
            textfont=dict(size=13, color="#111827"),
            marker=dict(symbol="star", size=16, color="white", line=dict(color="#111827", width=1.5)),
            meta={"role": "minima"}, showlegend=False, name="minimum",
            hovertemplate="minimum %{text}: (%{x:.4g}, %{y:.4g})<extra></extra>"))
    (x0, x1), (y0, y1) = (b.xs[0], b.xs[-1]), (b.ys[0], b.ys[-1])
    fig.update_layout(
        font=FONT, margin=dict(l=55, r=10, t=40 if title else 10, b=45),
        title=dict(text=title, x=0.02, font=dict(size=16)) if title else None,
        xaxis=dict(title="w1", range=[float(x0), float(x1)], constrain="domain"),
        yaxis=dict(title="w2", range=[float(y0), float(y1)], scaleanchor="x", scaleratio=1,
                   constrain="domain"),
        paper_bgcolor="white", plot_bgcolor="white", hovermode="closest",
        uirevision=f"descent-lab:basins:{getattr(surface, 'name', '')}",
    )
    return readable(fig, presenter)


def race_table(race_result) -> list[dict]:
    """One row per optimizer: its tuned learning rate, final loss and epochs to the tolerance."""
    rows = []
    for entry in race_result.entries:
        rows.append({
            "optimizer": entry.label,
            "tuned learning rate": entry.lr,
            "final loss": entry.final_loss,
            f"epochs to {race_result.tol:g}": entry.epochs_to_tol,
            "status": (entry.status if entry.lr is not None or entry.sweep is None
                       else "diverged at every rate"),
        })
    return rows
