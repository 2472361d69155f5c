"""The edge-of-stability chart of the network mode: each run's sharpness per measured epoch
beside its stability line 2/η (and, for momentum or Adam, the threshold that optimizer meets)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures import descent as figures


def what_to_look_for(curves) -> str:
    """The sentence under the chart, in words that match what is drawn."""
    adaptive = any(c.preconditioned for _, _, c in curves)
    every = max(c.every for _, _, c in curves)
    when = "every epoch" if every == 1 else f"every {ordinal(every)} epoch (and the last)"
    text = ("**What to look for:** with plain gradient descent the sharpness (the largest "
            "eigenvalue of the full-batch loss Hessian) tends to rise until it reaches 2/η and "
            "then hovers there, while the loss keeps falling, though not smoothly: the edge of "
            "stability (Cohen et al. 2021). Above the line, a step of size η overshoots along the "
            "sharpest direction.")
    if adaptive:
        text += (" For an adaptive optimizer the chart shows the **preconditioned sharpness**, "
                 "the largest eigenvalue of P^-1/2·H·P^-1/2 with P the optimizer's own "
                 "denominator at that epoch (for Adam, (1 − β1^t)·(√v̂ + ε)); its stability "
                 "threshold is the dotted line, (2 + 2β1)/((1 − β1)·η) for Adam (Cohen et al. "
                 "2022), 38/η with β1 = 0.9. Epoch 0 has no optimizer state yet, so it shows the "
                 "raw sharpness.")
        text += _early_spike(curves)
    if any(c.threshold_words.startswith("(2 + 2μ)/η") for _, _, c in curves):
        text += " With momentum μ the threshold is (2 + 2μ)/η, the dotted line."
    for label, _, c in curves:
        if getattr(c, "limit_known", True) and c.threshold_words.startswith(("(2 + 2μ)/(", "2/η_t")):
            text += f" For {label} the threshold is {c.threshold_words}: the dotted line."
    unknown = [(label, c) for label, _, c in curves if not getattr(c, "limit_known", True)]
    for label, c in unknown:
        why = c.threshold_words.split(": ", 1)[-1]
        text += (f" **No stability line is drawn for {label}:** {why}, so no limit of the 2/η "
                 f"kind is known; its curve is the raw sharpness.")
    text += (f" Measured {when}, at the end of the epoch, by power iteration on exact "
             f"Hessian-vector products; mini-batch runs are measured on the full-batch loss."
             f" To see it clearly: Noisy sine, tanh, SGD on the full batch, η = 0.1, 300 epochs:"
             f" the sharpness climbs past 2/η = 20, the loss jumps, and it settles just above 20.")
    return text


def ordinal(n: int) -> str:
    """2 → "2nd", 3 → "3rd", 11 → "11th"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _early_spike(curves) -> str:
    """Why an adaptive run's preconditioned sharpness shoots far above its line in the first
    epochs, with the run's own numbers, when it does."""
    worst = None
    for label, _, c in curves:
        if not c.preconditioned or len(c.epochs) < 2:
            continue
        early = (c.epochs > 0) & (c.epochs <= max(10, int(c.epochs[-1]) // 10))
        over = early & np.isfinite(c.values) & (c.values > c.threshold)
        if over.any():
            k = int(np.argmax(np.where(over, c.values, -np.inf)))
            if worst is None or c.values[k] > worst[1]:
                worst = (label, float(c.values[k]), int(c.epochs[k]), float(c.threshold[k]))
    if worst is None:
        return ""
    label, value, epoch, limit = worst
    return (f" The early spike ({label}: {value:,.0f} at epoch {epoch}, against {limit:,.0f}) is "
            "the measure, not a blow-up: in the first steps Adam's second moment v̂ holds only a "
            "few gradients, so a weight whose gradients were nearly zero gets a denominator near "
            "ε, and P^-1/2·H·P^-1/2 is huge along it. The threshold assumes a settled P; it "
            "applies once v̂ has averaged many steps.")


def sharpness_figure(curves, *, uirevision: str, presenter: bool = False) -> go.Figure:
    """`curves`: (label, color, engine.sharpness.SharpnessCurve) per run."""
    traces = []
    values = []
    for label, color, c in curves:
        epochs = figures.f32(c.epochs.astype(np.float64))
        kind = "preconditioned sharpness" if c.preconditioned else "sharpness"
        with np.errstate(all="ignore"):
            shown = np.where(c.values > 0, c.values, np.nan)
        traces.append(go.Scatter(
            x=epochs, y=figures.f32(shown), mode="lines+markers",
            name=f"{label}: {kind}" + ("" if getattr(c, "limit_known", True) else ", no limit known"),
            line=dict(color=color, width=3), marker=dict(size=4),
            hovertemplate=f"{label}<br>epoch %{{x}}<br>{kind} %{{y:.4g}}<extra></extra>",
            meta={"role": "sharpness"}))
        if not getattr(c, "limit_known", True):  # no known limit: no line, said under the chart
            values.append(shown)
            continue
        traces.append(go.Scatter(
            x=epochs, y=figures.f32(c.two_over_lr), mode="lines", name=f"{label}: 2/η",
            line=dict(color=color, width=2, dash="dash"),
            hovertemplate=f"{label}<br>2/η = %{{y:.4g}}<extra></extra>", meta={"role": "two_over_lr"}))
        own = not np.allclose(c.threshold, c.two_over_lr)
        if own:
            traces.append(go.Scatter(
                x=epochs, y=figures.f32(c.threshold), mode="lines",
                name=f"{label}: {c.threshold_words.split(',')[0]}",
                line=dict(color=color, width=2, dash="dot"),
                hovertemplate=f"{label}<br>threshold %{{y:.4g}}<extra></extra>",
                meta={"role": "threshold"}))
            values.append(c.threshold)
        values += [shown, c.two_over_lr]
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values]) if values else np.zeros(0)
    log = bool(finite.size and finite.max() / finite.min() > 30)
    size = 18 if presenter else 13
    # The legend sits in a band of its own under the epoch axis (it used to overlap the axis
    # title), a row per two entries, and the y title is short enough for the plot's height.
    rows = -(-len(traces) // 2)
    legend_band = int(rows * 1.6 * size) + 8
    axis_band = int(3.2 * size)
    plot_height = 224
    layout = dict(
        uirevision=uirevision, font=dict(figures.FONT, size=size),
        height=36 + plot_height + axis_band + legend_band,
        margin=dict(l=55, r=10, t=36, b=axis_band + legend_band), paper_bgcolor="white",
        plot_bgcolor="white",
        title=dict(text="Edge of stability: sharpness and 2/η"
                   if any(getattr(c, "limit_known", True) for _, _, c in curves)
                   else "Edge of stability: sharpness (no stability limit known)", x=0.02, y=0.97, font=dict(size=size + 2)),
        xaxis=dict(title="epoch", gridcolor="#eee"),
        yaxis=dict(title="sharpness", type="log" if log else "linear", gridcolor="#eee"),
        legend=dict(orientation="h", yanchor="top", y=-axis_band / plot_height, x=0),
        showlegend=True)
    return go.Figure(data=traces, layout=layout)
