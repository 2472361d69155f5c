"""The picture of the data under the views (figures/data_fit.py) follows the epoch the views are
scrubbed to: the settled epoch goes to Python, and the rerun draws each run's line at it. It does
not move frame by frame during playback (it is a plain chart, redrawn by a rerun)."""

from __future__ import annotations

import pytest

import browser_harness as h

# The data picture's title and its first model line's points.
JS_PICTURE = """() => {
    const plots = [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot, [data-testid=stPlotlyChart] .js-plotly-plot')];
    const fig = plots.find(p => (p._fullData || []).some(t => t.meta && t.meta.role === 'model'));
    if (!fig) return null;
    const line = fig._fullData.find(t => t.meta && t.meta.role === 'model');
    return {title: fig._fullLayout.title.text, name: line.name,
            x: Array.from(line.x).slice(0, 3), y: Array.from(line.y).slice(0, 3)};
}"""


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


def test_the_data_picture_follows_the_scrubbed_epoch(page, app_url):
    page.goto(f"{app_url}/?surface=linear_regression&epochs=30&speed=instant")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    page.wait_for_function(JS_PICTURE, timeout=60_000)
    h.wait_idle(page)
    at_end = page.evaluate(JS_PICTURE)
    assert "at epoch 30" in at_end["title"] and at_end["name"] == "Adam at epoch 30"
    slider = page.locator(".dv-epoch")
    slider.focus()
    slider.press("Home")
    h.wait_idle(page)
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    page.wait_for_function("() => { const p = (%s)(); return p && p.name === 'Adam at epoch 4'; }"
                           % JS_PICTURE, timeout=60_000)
    at_four = page.evaluate(JS_PICTURE)
    assert "at epoch 4<" in at_four["title"] or at_four["title"].endswith("at epoch 4")
    assert at_four["y"] != at_end["y"]  # another line: the run's weights at epoch 4
    h.screenshot(page, "data_picture_epoch_4")
    # off presenter mode too, the short loss plot's log labels keep one label height apart
    loss = page.evaluate("""() => {
        const c = document.querySelector('.dv-root .dv-loss');
        const texts = [...c.querySelectorAll('.ytick text')];
        const size = texts.length ? parseFloat(getComputedStyle(texts[0]).fontSize) : 0;
        const at = texts.map(t => t.getBoundingClientRect()).filter(r => r.height > 0)
            .map(r => (r.top + r.bottom) / 2).sort((a, b) => a - b);
        return {at, size, type: c._fullLayout.yaxis.type};
    }""")
    if loss["type"] == "log":
        for above, below in zip(loss["at"], loss["at"][1:]):
            assert below - above >= 2 * loss["size"], loss
    assert not page.js_errors
