"""Reference for benchmarks/bench_page.py: the chart demo's figures drawn the plain way, with
three st.plotly_chart calls (whole paths, no playback). Same sidebar keys as the demo."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "pages"))

import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402
from demo_figures import build_figures  # noqa: E402

st.set_page_config(page_title="st.plotly_chart reference", layout="wide")
with st.sidebar:
    learning_rate = st.slider("Learning rate", 0.001, 0.03, 0.01, step=0.001, format="%.3f",
                              key="learning_rate")
    epochs = st.slider("Epochs", 5, 2000, int(st.query_params.get("epochs", 60)), key="epochs")

figures, _ = build_figures(learning_rate, epochs)
left, right = st.columns([58, 42])
with left:
    st.plotly_chart(go.Figure(figures["surface3d"]).update_layout(height=380), key="surface3d")
with right:
    st.plotly_chart(go.Figure(figures["contour"]).update_layout(height=380), key="contour")
st.plotly_chart(go.Figure(figures["loss"]).update_layout(height=190), key="loss")
