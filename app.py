"""Descent Lab: watch gradient descent happen on a loss surface.

Top to bottom: page config → the link → controls → cached compute (streamed) → views → panels.
No math here: the engine trains, views/ builds figures and panels.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from urllib.parse import urlencode

import numpy as np
import plotly.io as pio
import streamlit as st

import surfaces
from engine.anatomy import replay_step, sample_view
from engine.curvature import curvature
from views import anatomy, compute, controls, export, figures, lessons, network_page, state
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


def _on_view_click(point) -> None:
    if st.session_state.get("mode", "surface") == "surface":
        controls.set_start(point)


def show_views(figs: dict, run_identity, height: int) -> None:
    """Draw the three views in the browser component. A new `run_identity` replays the descent
    from epoch 0; the same one keeps the playback position and the camera."""
    token = hashlib.sha1(repr(run_identity).encode()).hexdigest()[:12]
    specs = {}
    for name, fig in figs.items():
        spec = json.loads(pio.to_json(fig, validate=False))
        spec["layout"].pop("template", None)  # plotly.py's default template: 8 KB per figure, unused
        specs[name] = spec
    epochs = 0
    for trace in specs["loss"]["data"]:
        if (trace.get("meta") or {}).get("role") == "path":
            epochs = max(epochs, _length(trace["x"]) - 1)
    descent_view(specs, {"epochs": epochs, "speed": config.speed, "token": token},
                 key="descent_view", height=height, on_click=_on_view_click)


def _length(array) -> int:
    if isinstance(array, dict):  # a base64 typed array
        return len(base64.b64decode(array["bdata"])) // np.dtype(array["dtype"]).itemsize
    return len(array)


# --- The link: read once per session, then the widgets own the state. ------------------------
if "link_loaded" not in st.session_state:
    link_config, link_notices = state.from_query(st.query_params.to_dict())
    controls.load_config(link_config)
    st.session_state["link_notices"] = link_notices
    st.session_state["link_loaded"] = True

config = controls.sidebar()
query = state.to_query(config)
if st.query_params.to_dict() != query:
    st.query_params.from_dict(query)

surface = config.surface_obj()
if config.mode == "network":
    for notice in st.session_state.pop("link_notices", []):
        st.warning(notice, icon=":material/link:")
    network_page.render(config, show_views)
    st.stop()


# --- Compute: every run is cached on what it depends on; new runs stream with a progress bar. ---
@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, points: int) -> figures.Grid:
    xs, ys, Z = surfaces.get(name).grid(points)
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
for notice in st.session_state.pop("link_notices", []):
    st.warning(notice, icon=":material/link:")
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
for result in results:
    if result.error:
        st.error(f"Could not run {result.error}", icon=":material/warning:")
    message = compute.divergence_message(config, result)
    if message:
        st.error(message, icon=":material/error:")

# --- Views: one browser component draws and animates all three. -----------------------------
ran = [r for r in results if r.trajectory is not None]
colors = figures.RUN_COLORS
run_views = [
    figures.RunView(label=r.choice.label, color=colors[i % len(colors)],
                    params=r.trajectory.params, loss=r.trajectory.loss,
                    status=r.trajectory.status, diverged_epoch=r.trajectory.diverged_epoch)
    for i, r in enumerate(ran)
]
grid = surface_grid(config.surface, compute.GRID_POINTS)
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
           560 if config.presenter else 600)

# --- Panels under the views. ----------------------------------------------------------------
tab_steps, tab_curvature, tab_table, tab_share = st.tabs(
    ["The five steps", "Curvature and η", "Summary table", "Share and export"])

with tab_table:
    rows = compute.summary_rows(results)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"Tolerance: the loss within {compute.TOLERANCE:g} of the best minimum's loss. "
               f"Distance: from the last finite weights to the nearest known minimum.")

inspect_step = None
with tab_steps:
    if ran:
        labels = [r.choice.label for r in ran]
        if st.session_state.get("inspect_run") not in labels:
            st.session_state["inspect_run"] = labels[0]
        left, right = st.columns([1, 2])
        label = left.selectbox("Run", labels, key="inspect_run")
        chosen = ran[labels.index(label)]
        last_epoch = len(chosen.trajectory.loss) - 1
        if last_epoch >= 1:
            if not 1 <= st.session_state.get("inspect_epoch", 1) <= last_epoch:
                st.session_state["inspect_epoch"] = 1
            epoch = right.slider("Epoch to take apart", 1, max(last_epoch, 2) if last_epoch > 1 else 2,
                                 key="inspect_epoch", disabled=last_epoch == 1)
            epoch = min(epoch, last_epoch)
            inspect_step = replay_step(
                surface, chosen.choice.make(config.learning_rate), epoch=epoch, epochs=config.epochs,
                batch_size=config.batch_size, start=config.start_point(), seed=config.seed,
                clip=compute.make_clip(config), schedule=compute.make_schedule(config))
        if inspect_step is None:
            st.info("This run stopped before any step was taken.")
        else:
            names = surface.model.weight_names if surface.model is not None else ("w1", "w2")
            sections = anatomy.anatomy_sections(
                surface, inspect_step, anatomy.rule_for(chosen.choice.preset, chosen.choice.hyper()),
                sample_view(surface, inspect_step),
                weight_names=tuple(anatomy.SYMBOLS.get(n, n) for n in names))
            cols = st.columns(2)
            for i, section in enumerate(sections):
                with cols[i % 2]:
                    st.markdown(f"**{section.title}**")
                    for line in section.latex:
                        st.latex(line)
                    for note in section.notes:
                        st.caption(note)

with tab_curvature:
    points = [("the start", np.asarray(config.start_point(), dtype=float))]
    if inspect_step is not None:
        points.append((f"epoch {inspect_step.epoch} ({st.session_state.get('inspect_run')})",
                       inspect_step.params))
    cols = st.columns(len(points))
    for col, (where, w) in zip(cols, points):
        c = curvature(surface, w)
        with col:
            st.markdown(f"**At {where}**, w = ({w[0]:.4g}, {w[1]:.4g})")
            if not np.all(np.isfinite(c.eigenvalues)):
                st.caption("The curvature is not defined at this point (a kink).")
                continue
            st.latex(rf"\lambda = {anatomy.num(c.eigenvalues[0])},\ {anatomy.num(c.eigenvalues[1])}"
                     rf"\qquad \kappa = {anatomy.num(c.condition)}")
            if np.isfinite(c.lr_limit):
                ratio = config.learning_rate / c.lr_limit
                st.latex(rf"\eta = {anatomy.num(config.learning_rate)}\quad\text{{vs}}\quad "
                         rf"2/\lambda_{{max}} = {anatomy.num(c.lr_limit)}")
                st.progress(min(1.0, ratio / 2), text=f"η is {ratio:.2g}× the stability limit of plain "
                                                      f"gradient descent here")
                if ratio > 1:
                    st.caption("Above the limit: along the steepest direction each plain gradient step "
                               "overshoots by more than it corrects, so the error grows.")
                else:
                    st.caption("Below the limit: plain gradient descent shrinks the error along every "
                               "direction here.")
            else:
                st.caption("No positive curvature here: nothing to overshoot, the surface bends down "
                           "(a saddle or a maximum) or is flat.")
            if c.eigenvalues[0] < 0 < c.eigenvalues[-1]:
                st.caption("One eigenvalue is negative and one positive: this is saddle-shaped.")
    st.caption("The limit is for plain gradient descent near a point; momentum and adaptive "
               "optimizers rescale the step, so their limits differ.")

with tab_share:
    base_url = (st.context.url or "").split("?")[0]
    st.markdown("**Copy link** — it reopens exactly this page:")
    st.code(f"{base_url}?{urlencode(query)}", language=None, wrap_lines=True)
    c1, c2, c3 = st.columns(3)
    c1.download_button("Trajectories (CSV)", lambda: export.to_csv(config, results),
                       file_name="descent-lab-runs.csv", mime="text/csv", key="dl_csv", on_click="ignore")
    c2.download_button("Trajectories and settings (JSON)", lambda: export.to_json(config, results),
                       file_name="descent-lab-runs.json", mime="application/json", key="dl_json",
                       on_click="ignore")
    c3.download_button("Figures (offline HTML)",
                       lambda: export.figures_html(figs, f"Descent Lab · {surface.title}"),
                       file_name="descent-lab-figures.html", mime="text/html", key="dl_html",
                       on_click="ignore")
    st.file_uploader("Load runs saved as JSON", type=["json"], key="upload_runs", on_change=_on_upload)

if not config.presenter:
    st.caption(
        f"Drag the 3D view to turn it; it stays turned when you change a control. Click the contour "
        f"map to start from there. The address bar holds every setting, so a copied link shares this "
        f"exact view.")
