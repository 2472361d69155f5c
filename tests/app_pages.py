"""Opening app.py in Streamlit's AppTest with a link's query, as the page tests do."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_app(query: dict, timeout: float = 120) -> AppTest:
    """app.py run once with `query` in the address bar; asserts that no exception was shown."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
