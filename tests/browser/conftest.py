"""Fixtures for browser tests: Debian's Chromium through Playwright, and Streamlit servers.

`streamlit_server(script, *args)` starts a script on a free loopback port for the rest of the
test module and returns its URL; `page` is a fresh 1280×720 tab. Without /usr/bin/chromium
(or Playwright) the tests are skipped with the reason, except under CI=true, where they fail."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browser_harness as harness  # noqa: E402


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance():
    if not Path(harness.CHROMIUM).exists():
        _unavailable(f"{harness.CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e .[test])")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = harness.launch_chromium(playwright_instance)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def streamlit_server():
    """Factory: streamlit_server("app.py") starts that script (path relative to the repo root)
    once per test module and returns its base URL."""
    with contextlib.ExitStack() as stack:
        servers: dict[tuple, str] = {}

        def start(script: str, *extra: str) -> str:
            key = (script, *extra)
            if key not in servers:
                servers[key] = stack.enter_context(harness.run_streamlit(script, *extra))
            return servers[key]

        yield start


@pytest.fixture(scope="module")
def demo_url(streamlit_server):
    return streamlit_server("tests/pages/chart_demo.py")
