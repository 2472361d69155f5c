"""Serving the page: the one entry point that `make run`, `make serve` and the tests start, the
app's own routes, and the class server (several replicas behind HAProxy)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The file that `streamlit run` starts, for `make run`, every replica of `make serve` and the tests.
ENTRY = ROOT / "app.py"
