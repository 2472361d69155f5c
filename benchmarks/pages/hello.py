"""Reference for benchmarks/bench_page.py: a hello-world Streamlit page with one slider."""

import streamlit as st

value = st.slider("Value", 0, 100, 50, key="value")
st.write(f"Hello, world: {value}")
