"""Descent Lab: watch gradient descent happen on a loss surface.

Top to bottom: page config → the link → controls → cached compute (streamed) → views.
No math here: the engine trains, views/ builds figures and panels.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import plotly.io as pio
import streamlit as st

import surfaces
from views import compute, controls, figures, state
from views.chart import descent_view

st.set_page_config(page_title="Descent Lab", page_icon="📉", layout="wide",
                   initial_sidebar_state="expanded")

RUN_CACHE_SIZE = 48
# Less empty space above the views, so the whole picture fits a 1280×720 projector.
st.html("<style>.block-container{padding-top:1.2rem;padding-bottom:1rem}</style>")

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


# --- Compute: every run is cached on what it depends on; new runs stream with a progress bar. ---
@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, points: int) -> figures.Grid:
    xs, ys, Z = surfaces.get(name).grid(points)
    return figures.Grid(np.asarray(xs), np.asarray(ys), np.asarray(Z))


def results_for(config: state.Config) -> list[compute.RunResult]:
    cache: dict = st.session_state.setdefault("run_cache", {})
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

# --- Header and messages. -------------------------------------------------------------------
st.markdown(f"### {surface.title} &nbsp;·&nbsp; <span style='font-weight:400'>{surface.lesson}</span>",
            unsafe_allow_html=True)
for notice in st.session_state.pop("link_notices", []):
    st.warning(notice, icon="🔗")
for result in results:
    if result.error:
        st.error(f"Could not run {result.error}", icon="⚠️")
    message = compute.divergence_message(config, result)
    if message:
        st.error(message, icon="💥")

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
token = hashlib.sha1(repr([compute.run_key(config, r.choice) for r in ran] + [log]).encode()).hexdigest()[:12]
animation = {
    "epochs": max((len(v.loss) - 1 for v in run_views), default=0),
    "speed": config.speed,
    "token": token,
}
descent_view({name: json.loads(pio.to_json(fig, validate=False)) for name, fig in figs.items()},
             animation, key="descent_view", on_click=controls.set_start)

# --- The summary table. ---------------------------------------------------------------------
rows = compute.summary_rows(results)
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
st.caption(
    f"Full batch: {surface.n_samples} samples. Drag the 3D view to turn it; it stays turned when "
    f"you change a control. Click the contour map to start from there. The page's link holds "
    f"every setting, so copying it shares this exact view.")
