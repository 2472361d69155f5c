"""Reference for benchmarks/bench_page.py: the app's default page figures (figures/descent.py, the
same surface, runs and sizes) drawn the plain way, with three st.plotly_chart calls and whole
paths (no playback). The learning-rate select_slider has the app's key and options, so the
benchmark moves it the same way."""

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from figures import descent as figures  # noqa: E402
from lab import config as state  # noqa: E402
from lab import link  # noqa: E402
from lab import runs as compute  # noqa: E402

st.set_page_config(page_title="st.plotly_chart reference", layout="wide")
config, _ = link.from_query({})
with st.sidebar:
    lr = st.select_slider("Learning rate η (log scale)", state.LR_OPTIONS, value=config.learning_rate,
                          key="learning_rate")
config = replace(config, learning_rate=lr)
surface = config.surface_obj()
results = [compute.run_one(config, choice) for choice in config.runs]
runs = [figures.RunView(label=r.choice.label, color=figures.RUN_COLORS[i], params=r.trajectory.params,
                        loss=r.trajectory.loss, status=r.trajectory.status,
                        diverged_epoch=r.trajectory.diverged_epoch)
        for i, r in enumerate(results) if r.trajectory is not None]
xs, ys, Z = surface.grid(compute.GRID_POINTS)
grid = figures.Grid(np.asarray(xs), np.asarray(ys), np.asarray(Z))
log = config.use_log()
uirevision = f"{figures.UIREVISION_PREFIX}{config.surface}"
left, right = st.columns([58, 42])
with left:
    st.plotly_chart(figures.surface_3d(grid, runs, surface.minima, log=log, uirevision=uirevision)
                    .update_layout(height=380), key="surface3d")
with right:
    st.plotly_chart(figures.contour_map(grid, runs, surface.minima, config.start_point(), log=log,
                                        uirevision=uirevision).update_layout(height=380), key="contour")
st.plotly_chart(figures.loss_curve(runs, surface.minimum_loss, uirevision=uirevision)
                .update_layout(height=190), key="loss")
