"""A tab under the views, clicked while it is mid-screen, keeps the page where it was: the page
used to jump on mouse-down (the emptied panel made the page shorter), and the release landed on
the loss chart's legend and hid a run."""

from __future__ import annotations

import pytest

import browser_harness as h

# The scroll of the main area, where the tab sits on screen, and the loss chart's traces that a
# legend click has hidden.
JS_STATE = """(name) => {
    const main = document.querySelector('[data-testid=stMain]');
    const tab = [...document.querySelectorAll('[role=tab]')].find(t => t.innerText.trim() === name);
    const loss = document.querySelector('.dv-root .dv-loss');
    const hidden = loss._fullData.filter(t => t.meta && t.meta.role === 'path' && t.visible !== true)
        .map(t => t.name);
    return {scroll: main.scrollTop, max: main.scrollHeight - main.clientHeight,
            tabTop: tab.getBoundingClientRect().top, hidden,
            selected: tab.getAttribute('aria-selected')};
}"""


@pytest.fixture(scope="module")
def app_url(streamlit_server):
    return streamlit_server("app.py")


@pytest.mark.parametrize("name", ["Basins", "Fair race", "Learning-rate sweep"])
def test_a_tab_clicked_mid_screen_keeps_the_scroll_and_every_run(page, app_url, name):
    page.goto(f"{app_url}/?opt=adam,momentum&speed=instant")
    h.wait_idle(page, timeout=90_000)
    h.wait_drawn(page, timeout=90_000)
    page.wait_for_timeout(500)
    h.wait_idle(page, timeout=90_000)
    # scroll as far as the page goes, or until the tabs are mid-screen
    start = page.evaluate(JS_STATE, name)
    page.evaluate("(dy) => { document.querySelector('[data-testid=stMain]').scrollTop += dy; }",
                  start["tabTop"] - 360)
    page.wait_for_timeout(300)
    before = page.evaluate(JS_STATE, name)
    assert before["scroll"] > 0 and 150 < before["tabTop"] < 600, before
    box = page.locator("[role=tab]", has_text=name).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(300)  # where the release would land, had the page moved
    pressed = page.evaluate(JS_STATE, name)
    page.mouse.up()
    h.wait_idle(page, timeout=120_000)
    page.wait_for_timeout(500)
    after = page.evaluate(JS_STATE, name)
    assert abs(pressed["scroll"] - before["scroll"]) <= 1, (before, pressed)
    assert abs(after["scroll"] - before["scroll"]) <= 1, (before, after)
    assert after["selected"] == "true"
    assert after["hidden"] == [], f"the click hid {after['hidden']}"
    assert not page.js_errors
