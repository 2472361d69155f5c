"""In the browser: a typed f(x, y) draws with its path, and a hostile text shows the error while
the previous surface stays."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import browser_harness as harness

SENTINEL = Path("/tmp/descent-lab-typed-sentinel")
JS_SURFACE_Z = """() => {
    const gd = document.querySelector('.dv-root .dv-surface3d');
    const z = gd.data[0].z;
    const rows = Array.isArray(z) ? z : [z];
    return Array.from(rows[0]).slice(0, 8).map(Number);
}"""


def test_typed_function_draws_and_hostile_text_keeps_the_old_surface(streamlit_server, page):
    SENTINEL.unlink(missing_ok=True)
    url = streamlit_server("app.py")
    page.goto(f"{url}/?surface=typed&f={quote('(x-1)^2 + 2*(y+0.5)^2')}&opt=adam&lr=0.1&epochs=60")
    harness.wait_idle(page)
    harness.wait_drawn(page)
    lengths = harness.trace_lengths(page, "surface3d")
    assert lengths and max(lengths) > 1  # the path is drawn
    before = page.evaluate(JS_SURFACE_Z)
    harness.screenshot(page, "typed_surface")

    box = page.locator(".st-key-expr_text input").first
    box.fill(f"__import__('os').system('touch {SENTINEL}')")
    box.press("Enter")
    page.get_by_text("is not an allowed function").first.wait_for(timeout=30_000)
    harness.wait_idle(page)
    time.sleep(0.5)
    assert page.get_by_text("The previous surface stays").first.is_visible()
    assert page.evaluate(JS_SURFACE_Z) == before
    query = parse_qs(urlparse(page.url).query)
    assert query["f"] == ["(x-1)^2 + 2*(y+0.5)^2"]
    assert not SENTINEL.exists()
    harness.screenshot(page, "typed_surface_refused")
