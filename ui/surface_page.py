"""The surface page: runs for the config (cached, streamed with a progress bar), the header and
messages, the three views, and the panels under them."""

from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
import streamlit as st

from figures import descent as figures
from lab import export, lessons
from lab import runs as lab_runs
from lab.config import Config, surface_for
from lab.link import code
from ui import cache, explore_panels, panels, sidebar
from ui.descent_view import show_views
from ui.link_state import show_link_notices

PANELS = ["Summary table", "The five steps", "Curvature and η", "Learning-rate sweep", "Basins",
          "Fair race", "Share and export"]
_UPLOAD_MESSAGE = "upload_message"


def _on_upload() -> None:
    """A saved runs file: refused in words, or loaded with its exact trajectories."""
    upload = st.session_state.get(panels.UPLOAD_KEY)
    if upload is None:
        return
    try:
        config, results = export.from_json(upload.getvalue())
    except export.LoadError as err:
        # The file's name is shown literally (a code span); the loader's words quote the file
        # the same way, so nothing from the file is read as Markdown.
        st.session_state[_UPLOAD_MESSAGE] = ("error", f"Could not load {code(upload.name)}: {err}")
        return
    sidebar.load_config(config)
    for key, result in results.items():
        cache.put("run", key, result)
    st.session_state[_UPLOAD_MESSAGE] = ("success", f"Loaded {code(upload.name)}: the saved runs are shown.")


@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, expression: str, bounds: tuple, points: int) -> figures.Grid:
    with np.errstate(all="ignore"):  # a typed surface may be undefined on part of its box: gaps
        xs, ys, Z = surface_for(name, expression, bounds).grid(points)
    return figures.Grid(np.asarray(xs), np.asarray(ys), np.asarray(Z))


def results_for(config: Config) -> list[lab_runs.RunResult]:
    """Every run of the config, from the session cache or trained now with a progress bar."""
    keys = [lab_runs.run_key(config, choice) for choice in config.runs]
    missing = [(k, c) for k, c in zip(keys, config.runs) if not cache.has("run", k)]
    if missing:
        total = len(missing) * config.epochs
        bar = st.progress(0.0, text="Training…") if total >= 400 else None
        every = max(1, config.epochs // 50)
        for done, (key, choice) in enumerate(missing):
            def on_epoch(epoch: int, done=done, choice=choice) -> None:
                if bar is not None and epoch % every == 0:
                    bar.progress(min(1.0, (done * config.epochs + epoch) / total),
                                 text=f"Training {choice.label}: epoch {epoch} of {config.epochs}")
            cache.put("run", key, lab_runs.run_one(config, choice, on_epoch))
        if bar is not None:
            bar.empty()
    return [cache.get("run", k) for k in keys]


def plain_text(text: str) -> str:
    """Text shown as itself in st.markdown with HTML allowed: HTML escaped, then every character
    Markdown (or Streamlit's $…$ math) would read as markup escaped with a backslash, so that a typed
    function such as sin(x)*cos(y) keeps its asterisks."""
    escaped = html.escape(text, quote=False)
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~$:^" else c for c in escaped)


def _header(config: Config, surface, query: dict) -> None:
    title, about = plain_text(surface.title), plain_text(surface.lesson)
    # "Saddle point · saddle point" says it twice: the shape's name alone is enough then.
    words = "" if surface.lesson.strip().lower() in surface.title.lower() else (
        f" &nbsp;·&nbsp; <span style='font-weight:400'>{about}</span>")
    st.markdown(f"### {title}{words}", unsafe_allow_html=True)
    show_link_notices(query)
    if _UPLOAD_MESSAGE in st.session_state:
        kind, text = st.session_state.pop(_UPLOAD_MESSAGE)
        (st.error if kind == "error" else st.success)(text)
    if config.lesson:
        lesson = lessons.get(config.lesson)
        changed = replace(config, presenter=False, speed="normal") != replace(
            lesson.config, presenter=False, speed="normal")
        # In presenter mode the sidebar shows the lesson, so the views fill a 1280×720 screen.
        if not config.presenter:
            with st.container(border=True):
                st.markdown(f"**Lesson: {lesson.title}.** {lesson.explanation}")
                st.markdown(f"**What to watch for:** {lesson.watch_for}")
                if changed:
                    st.caption("You have changed this lesson's settings; choose it again in Lessons to reset.")


def _messages(config: Config, surface, results) -> int:
    """Errors, divergences and runs off the map, above the views; returns how many."""
    messages = 0
    for result in results:
        if result.error:
            st.error(f"Could not run {result.error}", icon=":material/warning:")
            messages += 1
        message = lab_runs.divergence_message(config, result, short=config.presenter)
        if message:
            st.error(message, icon=":material/error:")
            messages += 1
        outside = lab_runs.outside_message(result, surface.bounds)
        if outside:
            st.info(outside, icon=":material/open_in_full:")
            messages += 1
    return messages


def _on_view_click(point) -> None:
    sidebar.set_start(point)


def render(config: Config, query: dict) -> None:
    surface = config.surface_obj()
    results = results_for(config)
    _header(config, surface, query)
    messages = _messages(config, surface, results)

    # --- Views: one browser component draws and animates all three. -------------------------
    ran = [r for r in results if r.trajectory is not None]
    colors = figures.RUN_COLORS
    run_views = [
        figures.RunView(label=r.choice.label, color=colors[i % len(colors)],
                        params=r.trajectory.params, loss=r.trajectory.loss,
                        status=r.trajectory.status, diverged_epoch=r.trajectory.diverged_epoch,
                        steps=r.steps, step_loss=r.step_loss)
        for i, r in enumerate(ran)
    ]
    grid = surface_grid(config.surface, config.expression, config.expr_bounds, lab_runs.GRID_POINTS)
    log = config.use_log()
    uirevision = f"{figures.UIREVISION_PREFIX}{config.surface}"
    start = config.start_point()
    figs = {
        "surface3d": figures.surface_3d(grid, run_views, surface.minima, log=log, uirevision=uirevision),
        "contour": figures.contour_map(grid, run_views, surface.minima, start, log=log,
                                       uirevision=uirevision),
        "loss": figures.loss_curve(run_views, surface.minimum_loss, uirevision=uirevision,
                                   tolerance=lab_runs.TOLERANCE),
    }
    if config.presenter:
        figs = {name: figures.for_presenter(fig) for name, fig in figs.items()}
    show_views(figs, ([lab_runs.run_key(config, r.choice) for r in ran], log),
               # presenter: the views shrink by each message above them, to stay on a 720-px screen
               max(420, 560 - 66 * messages) if config.presenter else 600,
               epochs=max((len(v.loss) - 1 for v in run_views), default=0), speed=config.speed,
               # the epoch the user settles on (pause, slider released) becomes the five steps' epoch
               on_click=_on_view_click, on_epoch=panels.set_inspected_epoch)

    # --- Panels under the views: lazy tabs, so only the open one computes. ------------------
    tabs = dict(zip(PANELS, st.tabs(PANELS, key="panel", on_change="rerun")))
    if tabs["The five steps"].open:
        with tabs["The five steps"]:
            panels.five_steps(config, surface, ran)
    if tabs["Curvature and η"].open:
        with tabs["Curvature and η"]:
            panels.curvature_and_lr(config, surface, ran)
    if tabs["Summary table"].open:
        with tabs["Summary table"]:
            panels.summary_table(results)
    if tabs["Learning-rate sweep"].open:
        with tabs["Learning-rate sweep"]:
            explore_panels.lr_sweep_panel(config, surface)
    if tabs["Basins"].open:
        with tabs["Basins"]:
            explore_panels.basins_panel(config, surface)
    if tabs["Fair race"].open:
        with tabs["Fair race"]:
            explore_panels.race_panel(config, surface)
    if tabs["Share and export"].open:
        with tabs["Share and export"]:
            panels.share_and_export(config, query, results, figs, surface, on_upload=_on_upload)

    if not config.presenter:
        st.caption(
            "Drag the 3D view to turn it; it stays turned when you change a control. Click the contour "
            "map to start from there. The address bar holds every setting, so a copied link shares this "
            "exact view.")
