"""The page's Neural network mode: train with a live loss curve, then the landscape slice with
the projected paths, the decision boundary at the scrubbed epoch, the held-out loss beside the
training loss (and the accuracy per epoch), the honesty report, and the summary and export tabs."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from engine import landscape
from engine.muon_network import for_model
from engine.sharpness import sharpness_run
from figures import descent as figures
from figures.network import accuracy_figure, boundary_figure, with_held_out
from figures.sharpness import sharpness_figure, what_to_look_for
from lab import export, runs
from lab.config import Config, network_data, network_test_data
from ui import cache, panels
from ui.descent_view import show_views, views_painted
from ui.link_state import show_link_notices


PANELS = ["Summary table", "Share and export"]
LIVE_AFTER_S = 1.0  # a live loss chart only for training that takes longer than this


def _train(config: Config) -> runs.NetworkResult:
    """Train with a progress bar and a live loss curve, or take the server's cached result (a
    session asking while another trains the same network waits for that result)."""
    key = runs.run_key(config)
    # The progress bar's and live chart's places are on the page in every run, trained or not, so
    # the elements after them keep their places (Streamlit hides a moved element for the rest of
    # the run, and the views would be redrawn).
    bar_slot, chart = st.empty(), st.empty()
    result = cache.get("network", key)
    if result is not None:
        return result
    return cache.cached("network", key, lambda: _train_now(config, bar_slot, chart))


def _train_now(config: Config, bar_slot, chart) -> runs.NetworkResult:
    total = max(1, len(config.runs) * config.epochs)
    bar = bar_slot.progress(0.0, text="Training…")
    losses: dict[str, list[float]] = {}
    started = time.monotonic()
    last_draw = [started]

    def on_epoch(label: str, epoch: int, loss: float) -> None:
        losses.setdefault(label, []).append(loss if np.isfinite(loss) else np.nan)
        now = time.monotonic()
        # Training that ends within LIVE_AFTER_S draws no live chart: the landscape comes first.
        if now - started > LIVE_AFTER_S and now - last_draw[0] > 0.25:
            done = sum(len(v) - 1 for v in losses.values())
            bar.progress(min(1.0, done / total), text=f"Training {label}: epoch {epoch} of {config.epochs}")
            longest = max(len(v) for v in losses.values())
            chart.line_chart({k: v + [np.nan] * (longest - len(v)) for k, v in losses.items()},
                             height=180, x_label="epoch", y_label="loss")
            last_draw[0] = now

    result = runs.network_result(config, on_epoch)
    bar_slot.empty()
    chart.empty()
    return result


def render(config: Config, query: dict) -> None:
    """The network mode's main area."""
    show_link_notices(query)
    (X, y), info = network_data(config)
    subtitle = "" if config.presenter else (
        " &nbsp;·&nbsp; <span style='font-weight:400'>a 2-D slice of a many-weight loss surface</span>")
    st.markdown(f"### Neural network on {info.title}{subtitle}", unsafe_allow_html=True)
    result = _train(config)
    if result.error:
        st.error(f"Cannot build this network: {result.error}", icon=":material/warning:")
        return
    for run in result.runs:
        if run.error:
            st.error(f"Could not run {run.error}", icon=":material/warning:")
        elif run.trajectory.diverged_epoch is not None:
            st.error(f"**{run.choice.label} diverged at epoch {run.trajectory.diverged_epoch}.** "
                     f"The learning rate η = {run.choice.lr(config.learning_rate):g} is too large for "
                     f"this network's loss surface. The landscape is drawn from the epochs before the "
                     f"divergence.", icon=":material/error:")
    trained = [(i, r) for i, r in enumerate(result.runs) if r.trajectory is not None]
    if not trained:
        return
    colors = figures.RUN_COLORS
    slice_views, true_views, held_views = [], [], []
    for n, (i, run) in enumerate(trained):
        report = result.reports[i]
        color = colors[n % len(colors)]
        slice_views.append(figures.RunView(run.choice.label, color, report.coords, report.plane_loss,
                                           run.trajectory.status, run.trajectory.diverged_epoch))
        true_views.append(figures.RunView(run.choice.label, color, report.coords,
                                          run.trajectory.loss, run.trajectory.status,
                                          run.trajectory.diverged_epoch))
        if run.test_loss is not None:  # the held-out loss beside it, in the same loss view
            held_views.append(figures.RunView(run.choice.label, color, report.coords, run.test_loss,
                                              run.trajectory.status, run.trajectory.diverged_epoch))
    grid = figures.Grid(result.alphas, result.betas, result.Z)
    finite = result.Z[np.isfinite(result.Z)]
    log = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 100)
    uirevision = f"{figures.UIREVISION_PREFIX}network:{config.dataset}:{config.hidden}"
    def make_figs() -> dict:
        surface3d = figures.surface_3d(grid, slice_views, np.zeros((0, 2)), log=log, uirevision=uirevision)
        surface3d.update_layout(scene=dict(xaxis_title="PCA 1", yaxis_title="PCA 2"))
        first = trained[0][1].choice.label
        title = ("Decision boundary" if result.task == "classification" else "Fitted curve") + f" · {first}"
        boundary = boundary_figure(result, X, y, title=title, uirevision=uirevision)
        loss = with_held_out(figures.loss_curve(true_views + held_views, float("nan"), uirevision=uirevision),
                             len(true_views))
        figs = {"surface3d": surface3d, "contour": boundary, "loss": loss}
        if config.presenter:
            figs = {name: figures.for_presenter(fig) for name, fig in figs.items()}
        return figs

    # The views' message depends on the config only: built once per server, for every session.
    show_views(make_figs, (runs.run_key(config), log), 560 if config.presenter else 600,
               epochs=max(len(v.loss) - 1 for v in true_views), speed=config.speed,
               cached=lambda k, make: cache.cached("view-message", (k, config.presenter), make))
    # The extra charts, the honesty report and the panels come after the browser has drawn the
    # views (it reports it, and the page reruns), so none of them competes with the first paint.
    if not views_painted():
        return

    _held_out(config, result, trained, colors, uirevision)
    _edge_of_stability(config, trained, colors, uirevision)

    share = landscape.variance_explained(result.plane, [landscape.before_divergence(r.trajectory)
                                                        for _, r in trained])
    explained = result.plane.explained
    st.markdown(f"**How honest is this picture?** The slice is the plane of the two main directions "
                f"of the training paths (PCA 1 holds {explained[0]:.0%} of their movement, PCA 2 "
                f"{explained[1]:.0%}; together {share:.0%}).")
    for n, (i, run) in enumerate(trained):
        st.caption(f"{run.choice.label}: " + landscape.honesty_note(result.reports[i]))
    # Built only when opened: its charts would otherwise be made and sent on every run.
    per_epoch = st.expander("Per epoch: the loss at the true weights and on the slice",
                            key="net_per_epoch", on_change="rerun")
    if per_epoch.open:
        with per_epoch:
            for i, run in trained:
                report = result.reports[i]
                st.caption(run.choice.label)
                st.line_chart({"true loss": report.true_loss, "loss on the slice under the dot": report.plane_loss},
                              height=200, x_label="epoch")

    # --- Panels under the views: lazy tabs, so only the open one computes (the export builds
    # an offline HTML page and a PyTorch script only when its tab is opened). ------------------
    tabs = dict(zip(PANELS, st.tabs(PANELS, key="net_panel", on_change="rerun")))
    if tabs["Summary table"].open:
        with tabs["Summary table"]:
            panels.network_summary(result)
    if tabs["Share and export"].open:
        with tabs["Share and export"]:
            panels.export_panel(
                config, query, [run for _, run in trained], make_figs(),
                f"Descent Lab · neural network on {info.title}",
                csv_text=lambda: export.network_to_csv(config, result),
                json_text=lambda: export.network_to_json(config, result))


def _held_out(config: Config, result: runs.NetworkResult, trained, colors, uirevision: str) -> None:
    """What the held-out set is, and (classification) the accuracy per epoch beside the loss."""
    held = network_test_data(config)
    if held is None:
        st.caption("No samples are held out (held-out share 0 in the sidebar): the loss view shows "
                   "the training loss only.")
        return
    n_train = len(network_data(config)[0][1])
    st.caption(f"Held out: {len(held[1])} samples ({config.test_share:.0%} of all), drawn from the "
               f"same distribution with seed {config.seed} and never trained on. In the loss view "
               f"their loss is the dotted curve beside each run's training line "
               f"({n_train} training samples).")
    if result.task != "classification":
        return
    curves = [(run.choice.label, colors[n % len(colors)], run.accuracy_curve, run.test_accuracy)
              for n, (_, run) in enumerate(trained) if run.accuracy_curve is not None]
    if curves:
        st.plotly_chart(accuracy_figure(curves, uirevision=uirevision + ":accuracy",
                                        presenter=config.presenter),
                        key="accuracy_chart", config={"displaylogo": False}, theme=None)


def _sharpness_curves(config: Config, trained) -> list:
    """Each trained run's sharpness per measured epoch (cached with the network result): the run
    is replayed with its own settings and checked against the trajectory already shown."""
    key = runs.run_key(config) + ("sharpness",)
    curves = cache.get("sharpness", key)
    if curves is not None:
        return curves
    return cache.cached("sharpness", key, lambda: _measure_sharpness(config, trained))


def _measure_sharpness(config: Config, trained) -> list:
    mlp = runs.build_mlp(config)
    curves = []
    with st.spinner("Measuring the sharpness (largest Hessian eigenvalue) per epoch…"):
        for i, run in trained:
            choice = run.choice
            try:
                curve = sharpness_run(
                    mlp, for_model(choice.make(config.learning_rate), mlp), epochs=config.epochs,
                    batch_size=runs.batch_size(config, choice), start=mlp.start, seed=config.seed,
                    clip=runs.make_clip(config, choice), schedule=runs.make_schedule(config, choice),
                    run=run.trajectory)
            except ValueError:
                continue
            curves.append((i, curve))
    return curves


def _edge_of_stability(config: Config, trained, colors, uirevision: str) -> None:
    """The edge-of-stability chart under the views, with what to look for."""
    curves = _sharpness_curves(config, trained)
    labels = {i: (n, run.choice.label) for n, (i, run) in enumerate(trained)}
    shown = [(labels[i][1], colors[labels[i][0] % len(colors)], c) for i, c in curves
             if c.matches_run and len(c.epochs)]
    if not shown:
        return
    st.plotly_chart(sharpness_figure(shown, uirevision=uirevision + ":sharpness",
                                     presenter=config.presenter),
                    key="sharpness_chart", config={"displaylogo": False}, theme=None)
    if not config.presenter:
        st.markdown(what_to_look_for(shown))
    skipped = [labels[i][1] for i, c in curves if not c.matches_run]
    if skipped:
        st.caption("No sharpness shown for " + ", ".join(skipped) + ": replaying the run did not "
                   "give the same weights, so a curve would belong to another run.")
