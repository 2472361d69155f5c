"""A small page to develop and test ui.descent_view.descent_view against, without app.py.

Query parameters (for the benchmark): ?speed=instant|slow|normal|fast&epochs=N."""

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from demo_figures import build_figures  # noqa: E402

from ui.descent_view import SPEEDS, descent_view  # noqa: E402

st.set_page_config(page_title="descent_view demo", layout="wide")

if "start" not in st.session_state:
    st.session_state.start = (-1.0, -4.0)
query_speed = st.query_params.get("speed", "normal")
query_epochs = int(st.query_params.get("epochs", 60))

with st.sidebar:
    learning_rate = st.slider("Learning rate", 0.001, 0.03, 0.01, step=0.001, format="%.3f",
                              key="learning_rate")
    epochs = st.slider("Epochs", 5, 2000, query_epochs, key="epochs")
    speed = st.selectbox("Speed", SPEEDS, index=SPEEDS.index(query_speed), key="speed")
    height = st.slider("Height", 400, 900, 600, step=20, key="height")


def _on_click(point):
    st.session_state.start = (point[0], point[1])
    st.session_state.click_count = st.session_state.get("click_count", 0) + 1


start = st.session_state.start
figures, max_epoch = build_figures(learning_rate, epochs, start=start)
token = hashlib.sha1(repr((learning_rate, epochs, start)).encode()).hexdigest()[:12]
clicked = descent_view(figures, {"epochs": max_epoch, "speed": speed, "token": token},
                       key="descent_view", height=height, on_click=_on_click)
st.write(f"start: {start[0]:.4f}, {start[1]:.4f}")
st.write(f"clicks: {st.session_state.get('click_count', 0)}")
if clicked is not None:
    st.write(f"clicked: {clicked[0]:.4f}, {clicked[1]:.4f}")
