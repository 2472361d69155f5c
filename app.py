"""Descent Lab: watch gradient descent happen on a loss surface.

Top to bottom: page config → the link → controls → cached compute (streamed) → views → panels.
No math here: the engine trains, views/ builds figures and panels.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import plotly.io as pio
import streamlit as st

from views import (compute, controls, explore_panels, export, figures, lessons, network_page, panels,
                   state)
from views.chart import descent_view

st.set_page_config(page_title="Descent Lab", page_icon="📉", layout="wide",
                   initial_sidebar_state="expanded")

RUN_CACHE_SIZE = 48
# Less empty space above the views, so the whole picture fits a 1280×720 projector.
st.html("<style>.block-container{padding:1.2rem 2.2rem 1rem 2.2rem}</style>")


def run_cache() -> dict:
    return st.session_state.setdefault("run_cache", {})


def _on_upload() -> None:
    """A saved runs file: refused in words, or loaded with its exact trajectories."""
    upload = st.session_state.get("upload_runs")
    if upload is None:
        return
    try:
        config, results = export.from_json(upload.getvalue())
    except export.LoadError as err:
        st.session_state["upload_message"] = ("error", f"Could not load {upload.name}: {err}")
        return
    controls.load_config(config)
    run_cache().update(results)
    st.session_state["upload_message"] = ("success", f"Loaded {upload.name}: the saved runs are shown.")


def show_link_notices(query: dict) -> None:
    """What the link asked for that could not be used, while the page still shows that link."""
    notices, link_query = st.session_state.get("link_notices", ([], None))
    if notices and query == link_query:
        for notice in notices:
            st.warning(notice, icon=":material/link:")


def _on_view_click(point) -> None:
    if st.session_state.get("mode", "surface") == "surface":
        controls.set_start(point)


def show_views(figs: dict, run_identity, height: int, epochs: int) -> None:
    """Draw the three views in the browser component, `epochs` on the playback slider. A new
    `run_identity` replays the descent from epoch 0; the same one keeps the playback position
    and the camera."""
    token = hashlib.sha1(repr(run_identity).encode()).hexdigest()[:12]
    specs = {}
    for name, fig in figs.items():
        spec = json.loads(pio.to_json(fig, validate=False))
        spec["layout"].pop("template", None)  # plotly.py's default template: 8 KB per figure, unused
        specs[name] = spec
    # The contour map colours the same grid as the 3D surface: send it once, the browser shares it.
    surface_z = specs["surface3d"]["data"][0].get("z")
    contour = specs["contour"]["data"][0]
    if contour.get("type") == "contour" and surface_z is not None and contour.get("z") == surface_z:
        del contour["z"]
        contour["meta"] = {**(contour.get("meta") or {}), "z_from": "surface3d"}
    # Surface mode: the epoch the user settles on (pause, slider released) becomes the five
    # steps panel's epoch.
    on_epoch = (lambda e: st.session_state.__setitem__("inspect_epoch", max(1, e))
                if config.mode == "surface" else None)
    descent_view(specs, {"epochs": epochs, "speed": config.speed, "token": token},
                 key="descent_view", height=height, on_click=_on_view_click, on_epoch=on_epoch)


# --- The link: read once per session, then the widgets own the state. ------------------------
if "link_loaded" not in st.session_state:
    link_config, link_notices = state.from_query(st.query_params.to_dict())
    controls.load_config(link_config)
    # Shown until the user changes a setting (not just until the next rerun).
    st.session_state["link_notices"] = (link_notices, state.to_query(link_config))
    st.session_state["link_loaded"] = True

config = controls.sidebar()
query = state.to_query(config)
if st.query_params.to_dict() != query:
    st.query_params.from_dict(query)

surface = config.surface_obj()
if config.mode == "network":
    show_link_notices(query)
    network_page.render(config, show_views)
    st.stop()


# --- Compute: every run is cached on what it depends on; new runs stream with a progress bar. ---
@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, expression: str, bounds: tuple, points: int) -> figures.Grid:
    with np.errstate(all="ignore"):  # a typed surface may be undefined on part of its box: gaps
        xs, ys, Z = state.surface_for(name, expression, bounds).grid(points)
    return figures.Grid(np.asarray(xs), np.asarray(ys), np.asarray(Z))


def results_for(config: state.Config) -> list[compute.RunResult]:
    cache = run_cache()
    keys = [compute.run_key(config, choice) for choice in config.runs]
    missing = [(k, c) for k, c in zip(keys, config.runs) if k not in cache]
    if missing:
        total = len(missing) * config.epochs
        bar = st.progress(0.0, text="Training…") if total >= 400 else None
        every = max(1, config.epochs // 50)
        for done, (key, choice) in enumerate(missing):
            def on_epoch(epoch: int, done=done, choice=choice) -> None:
                if bar is not None and epoch % every == 0:
                    bar.progress(min(1.0, (done * config.epochs + epoch) / total),
                                 text=f"Training {choice.label}: epoch {epoch} of {config.epochs}")
            cache[key] = compute.run_one(config, choice, on_epoch)
        if bar is not None:
            bar.empty()
        while len(cache) > RUN_CACHE_SIZE:
            cache.pop(next(iter(cache)))
    return [cache[k] for k in keys]


results = results_for(config)

# --- Header, lesson and messages. -------------------------------------------------------------
st.markdown(f"### {surface.title} &nbsp;·&nbsp; <span style='font-weight:400'>{surface.lesson}</span>",
            unsafe_allow_html=True)
show_link_notices(query)
if "upload_message" in st.session_state:
    kind, text = st.session_state.pop("upload_message")
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
messages = 0
for result in results:
    if result.error:
        st.error(f"Could not run {result.error}", icon=":material/warning:")
        messages += 1
    message = compute.divergence_message(config, result, short=config.presenter)
    if message:
        st.error(message, icon=":material/error:")
        messages += 1
    outside = compute.outside_message(result, surface.bounds)
    if outside:
        st.info(outside, icon=":material/open_in_full:")
        messages += 1

# --- Views: one browser component draws and animates all three. -----------------------------
ran = [r for r in results if r.trajectory is not None]
colors = figures.RUN_COLORS
run_views = [
    figures.RunView(label=r.choice.label, color=colors[i % len(colors)],
                    params=r.trajectory.params, loss=r.trajectory.loss,
                    status=r.trajectory.status, diverged_epoch=r.trajectory.diverged_epoch)
    for i, r in enumerate(ran)
]
grid = surface_grid(config.surface, config.expression, config.expr_bounds, compute.GRID_POINTS)
log = config.use_log()
uirevision = f"{figures.UIREVISION_PREFIX}{config.surface}"
start = config.start_point()
figs = {
    "surface3d": figures.surface_3d(grid, run_views, surface.minima, log=log, uirevision=uirevision),
    "contour": figures.contour_map(grid, run_views, surface.minima, start, log=log,
                                   uirevision=uirevision),
    "loss": figures.loss_curve(run_views, surface.minimum_loss, uirevision=uirevision),
}
if config.presenter:
    figs = {name: figures.for_presenter(fig) for name, fig in figs.items()}
show_views(figs, ([compute.run_key(config, r.choice) for r in ran], log),
           # presenter: the views shrink by each message above them, to stay on a 720-px screen
           max(420, 560 - 66 * messages) if config.presenter else 600,
           epochs=max((len(v.loss) - 1 for v in run_views), default=0))

# --- Panels under the views: lazy tabs, so only the open one computes. --------------------
PANELS = ["Summary table", "The five steps", "Curvature and η", "Learning-rate sweep", "Basins",
          "Fair race", "Share and export"]
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
        f"Drag the 3D view to turn it; it stays turned when you change a control. Click the contour "
        f"map to start from there. The address bar holds every setting, so a copied link shares this "
        f"exact view.")
