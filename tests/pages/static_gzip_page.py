"""The script behind tests/pages/static_gzip_entry.py: a page with one line."""

import streamlit as st

st.write("static gzip test page")
