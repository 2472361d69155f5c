"""Serving the page: the one entry point that `make run`, `make serve` and the tests start, the
app's own routes, and the class server (several replicas behind HAProxy)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The file that `streamlit run` starts, for `make run`, every replica of `make serve` and the tests:
# an st.App around app.py (the router script) with the app's own routes and start-up warm-up.
ENTRY = ROOT / "serving" / "web.py"
