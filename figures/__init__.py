"""Plotly figure builders (no streamlit): data in, figure out, testable without a browser."""
